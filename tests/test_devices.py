"""The shared device rule: auto / cpu / cuda, with errors that name the key."""

import pytest

from pipeline import devices
from pipeline.devices import resolve_device


def test_cpu_never_needs_torch(monkeypatch):
    monkeypatch.setattr(devices, "cuda_available", lambda: pytest.fail("torch was asked"))
    assert resolve_device("cpu") == "cpu"


@pytest.mark.parametrize("has_cuda, expected", [(True, "cuda"), (False, "cpu")])
def test_auto_follows_torch(monkeypatch, has_cuda, expected):
    monkeypatch.setattr(devices, "cuda_available", lambda: has_cuda)
    assert resolve_device("auto") == expected
    if has_cuda:
        assert resolve_device("cuda") == "cuda"


def test_cuda_without_a_gpu_names_the_key(monkeypatch):
    monkeypatch.setattr(devices, "cuda_available", lambda: False)
    with pytest.raises(ValueError, match="cooccur.device: cuda requested but torch finds no CUDA"):
        resolve_device("cuda", "cooccur.device")


def test_unknown_device_names_the_key():
    with pytest.raises(
        ValueError, match="train.device: expected one of auto, cpu, cuda, got 'tpu'"
    ):
        resolve_device("tpu", "train.device")
