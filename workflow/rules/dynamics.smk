# Rules of the dynamics domain (see pipeline/dynamics/): Post 4 (让Keras更酷一些): weight EMA against none, the Dirac-GAN dynamics, intermediate variables, data-loader safety.
