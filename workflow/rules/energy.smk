# Rules of the energy domain (see pipeline/energy/): Post 3 (生成模型=能量模型): Langevin sampling on known densities, the likelihood gradient, toy and image energy-based models.
