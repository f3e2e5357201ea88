# Rules of the estimators domain (see pipeline/estimators/): Post 2 (漫谈重参数): Gumbel-max, Gumbel-softmax, score-function against reparameterised gradients, and the author's discrete VAE.
