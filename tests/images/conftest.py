import numpy as np
import pytest
import torch

from pipeline.images.datasets import ImageSet, load_digits, split


@pytest.fixture(autouse=True)
def _one_thread():
    # On a loaded 2-core machine one intra-op thread is the fastest (anchors.md section 3.4).
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def digits() -> ImageSet:
    x, y, classes = load_digits()
    return ImageSet(*split(x, y, 0.2, 0), classes)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
