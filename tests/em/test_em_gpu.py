import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

from pipeline.em import PLSA, GaussianMixture, KMeans

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.fixture(scope="module")
def data():
    return make_blobs(5000, n_features=8, centers=6, cluster_std=2.0, random_state=0)[0]


def test_kmeans_cuda_matches_cpu(data):
    cpu = KMeans(6, random_state=0, backend="numpy").fit(data)
    gpu = KMeans(6, random_state=0, backend="torch", device="cuda").fit(data)
    np.testing.assert_array_equal(cpu.labels_, gpu.labels_)
    assert gpu.inertia_ == pytest.approx(cpu.inertia_, rel=1e-10)


def test_gmm_cuda_matches_cpu(data):
    cpu = GaussianMixture(6, random_state=0, tol=1e-6, backend="numpy").fit(data)
    gpu = GaussianMixture(6, random_state=0, tol=1e-6, backend="torch", device="cuda").fit(data)
    assert gpu.n_iter_ == cpu.n_iter_
    assert abs(gpu.lower_bound_ - cpu.lower_bound_) < 1e-9


def test_plsa_cuda_matches_cpu():
    counts = np.random.default_rng(0).poisson(1.0, (50, 80)).astype(float)
    cpu = PLSA(3, max_iter=30, tol=0, random_state=0, backend="numpy").fit(counts)
    gpu = PLSA(3, max_iter=30, tol=0, random_state=0, backend="torch", device="cuda").fit(counts)
    np.testing.assert_allclose(gpu.objective_history_, cpu.objective_history_, rtol=1e-10)
