# Rules of the vectors domain (see pipeline/vectors/).
