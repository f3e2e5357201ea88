"""Post 5 (从Wasserstein距离、对偶理论到WGAN): the OT linear programme and its dual, the g = -f restriction, neural critics, WGAN."""
