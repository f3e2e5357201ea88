# Rules of the em domain (see pipeline/em/).
