"""Image datasets (read without torchvision), the shared training engine, and image models.

Modules, one concept each:

- ``datasets``: readers for IDX, CIFAR-10 pickles, image folders/zips, CelebA, npz, and the
  bundled 8x8 digits; a :class:`~pipeline.images.datasets.ImageSet` of uint8 NHWC arrays.
- ``loader``: the map-style torch ``Dataset`` and the seeded, resumable batch stream
  (post 6575's "process-safe generator").
- ``ema``: bias-corrected weight EMA on top of ``torch.optim.swa_utils.AveragedModel``
  (post 6575's "weight moving average").
- ``activations``: capture any intermediate activation by module name (post 6575).
- ``train``: the one training loop (devices, precision, EMA, checkpoints, resume, DDP).
- ``vqvae``, ``prior``, ``classifier``: the models (post 6760 and the evaluation classifier).
- ``metrics``, ``figures``: offline metrics and report figures.
"""
