"""The one rule for a ``device`` config key, shared by every track.

``auto`` is CUDA when torch sees a GPU, else CPU; ``cuda`` without one is a config error naming
the key; anything but ``auto``, ``cpu`` and ``cuda`` is rejected. torch is imported only when the
answer depends on it, so CPU-only verbs start fast.
"""

from __future__ import annotations

DEVICES = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def resolve_device(requested: str, key: str = "device") -> str:
    """``"cpu"`` or ``"cuda"`` for the config value ``requested`` of ``key``.

    Raises
    ------
    ValueError
        For a value outside :data:`DEVICES`, or ``cuda`` where torch finds no CUDA device.
    """
    if requested not in DEVICES:
        raise ValueError(f"{key}: expected one of {', '.join(DEVICES)}, got {requested!r}")
    if requested == "cpu":
        return "cpu"
    if cuda_available():
        return "cuda"
    if requested == "cuda":
        raise ValueError(
            f"{key}: cuda requested but torch finds no CUDA device (no GPU, or a CPU-only "
            "torch build); set it to auto or cpu"
        )
    return "cpu"
