# Rules of the images domain (see pipeline/images/).
