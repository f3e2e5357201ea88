"""Row-wise Adagrad over embedding tables, in the two forms post 4675 (part 4) compares.

- ``standard`` (simpler_glove's C code): ``G += g²`` first, then ``w -= η g / sqrt(G + eps)``.
- ``lagged`` (Stanford GloVe's C code): step with the *old* accumulator,
  ``w -= η g / sqrt(G)``, then accumulate the η-scaled gradient, ``G += (η g)²``.

Both start the accumulator at 1.0, as both C programs do. Gradients arrive as (rows, values)
pairs from a mini-batch; repeated rows are summed first, so each touched row takes one step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

VARIANTS = ("standard", "lagged")
#: What :class:`RowAdagrad` also runs: plain SGD (``w -= η g``) for the loss-scale check.
OPTIMIZERS = (*VARIANTS, "sgd")


@dataclass
class RowAdagrad:
    """Adagrad for a set of named tables updated a few rows at a time.

    Parameters
    ----------
    tables : dict of str to Tensor
        Parameters, each (V, d) or (V,); updated in place.
    lr : float
        Learning rate η.
    variant : {"standard", "lagged", "sgd"}
    eps : float
        Added under the square root (standard variant only, as in simpler_glove).
    initial_accumulator : float
        Starting value of G.
    """

    tables: dict
    lr: float = 0.1
    variant: str = "standard"
    eps: float = 1e-8
    initial_accumulator: float = 1.0

    def __post_init__(self):
        if self.variant not in OPTIMIZERS:
            raise ValueError(
                f"adagrad: unknown variant {self.variant!r}; expected one of {OPTIMIZERS}"
            )
        if self.lr <= 0:
            raise ValueError(f"eta: must be positive, got {self.lr}")
        self._buffers = {}
        self.accumulators = {
            name: torch.full_like(t, self.initial_accumulator) for name, t in self.tables.items()
        }

    def step(self, name: str, rows: torch.Tensor, grads: torch.Tensor) -> None:
        """Apply the summed gradient ``grads`` (n, ...) of ``rows`` (n,) to table ``name``.

        Gradients are summed per row in a persistent dense buffer (``index_add_``, no sort);
        only the touched rows are then read, updated and written back, and their buffer rows
        cleared, so a step costs O(n·d), not O(V·d).
        """
        table, acc = self.tables[name], self.accumulators[name]
        buffer = self._buffers.get(name)
        if buffer is None:
            buffer = self._buffers[name] = torch.zeros_like(table)
        buffer.index_add_(0, rows, grads)
        touched = torch.bincount(rows, minlength=len(table)).nonzero().squeeze(1)
        g = buffer.index_select(0, touched)
        buffer.index_fill_(0, touched, 0.0)
        if self.variant == "sgd":
            table.index_add_(0, touched, g, alpha=-self.lr)
            return
        g_acc = acc.index_select(0, touched)
        if self.variant == "standard":
            g_acc.addcmul_(g, g)
            step = g / (g_acc + self.eps).sqrt_()
        else:
            step = g / g_acc.sqrt()
            g_acc.addcmul_(g, g, value=self.lr * self.lr)
        table.index_add_(0, touched, step, alpha=-self.lr)
        acc.index_copy_(0, touched, g_acc)
