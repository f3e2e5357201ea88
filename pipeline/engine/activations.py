"""Any intermediate activation by module name (post 6575, "output any intermediate variable").

Keras builds a sub-model ``Model(x_in, y)`` or a ``K.function`` on an inner tensor; in PyTorch a
forward hook on the named sub-module records its output (or, with ``inputs=True``, its input)
without changing the model. Runs in eval mode under no-grad, as ``K.function`` runs in the test
phase.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import nn


@contextlib.contextmanager
def capture(
    model: nn.Module, names: Sequence[str], inputs: bool = False
) -> Iterator[dict[str, torch.Tensor]]:
    """Record the output (or first input) of each named sub-module while the block runs.

    >>> with capture(model, ["encoder.2"]) as acts:
    ...     model(x)
    >>> acts["encoder.2"].shape
    """
    store: dict[str, torch.Tensor] = {}
    handles = []
    try:
        for name in names:
            try:
                module = model.get_submodule(name)
            except AttributeError as exc:
                known = [n for n, _ in model.named_modules() if n][:20]
                raise ValueError(
                    f"capture: no module named {name!r} (some names: {known})"
                ) from exc

            def hook(_m, args, out, name=name):
                value = args[0] if inputs else out
                if isinstance(value, (tuple, list)):
                    value = value[0]
                if isinstance(value, dict):  # e.g. the quantiser's outputs: one entry per tensor
                    for key, v in value.items():
                        store[f"{name}.{key}"] = v.detach().float().cpu()
                    store[name] = torch.empty(0)
                else:
                    store[name] = value.detach().float().cpu()

            handles.append(module.register_forward_hook(hook))
        yield store
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def activations(
    model: nn.Module, names: Sequence[str], run: Callable[[nn.Module], object]
) -> dict[str, torch.Tensor]:
    """Run ``run(model)`` in eval mode and return the named activations; restores train mode."""
    was_training = model.training
    model.eval()
    try:
        with capture(model, names) as store:
            run(model)
    finally:
        model.train(was_training)
    missing = sorted(set(names) - set(store))
    if missing:
        raise ValueError(f"capture: modules {missing} were not called by the forward pass")
    return {k: v for k, v in store.items() if v.numel() or k not in names}
