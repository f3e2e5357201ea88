import os

# Keep CPU tests deterministic and polite on a 2-core CI machine.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import sys  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _one_torch_thread():
    # On a loaded 2-core machine one intra-op thread is the fastest (anchors.md section 3.4).
    # Only where torch is in use: text-only tests never pay for importing it.
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's bundled 8x8 digits as an ImageSet (400-odd test images), for any track."""
    from pipeline.images.datasets import ImageSet, load_digits, split

    x, y, classes = load_digits()
    return ImageSet(*split(x, y, 0.2, 0), classes)
