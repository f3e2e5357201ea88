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


@dataclass
class RowAdagrad:
    """Adagrad for a set of named tables updated a few rows at a time.

    Parameters
    ----------
    tables : dict of str to Tensor
        Parameters, each (V, d) or (V,); updated in place.
    lr : float
        Learning rate η.
    variant : {"standard", "lagged"}
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
        if self.variant not in VARIANTS:
            raise ValueError(
                f"adagrad: unknown variant {self.variant!r}; expected one of {VARIANTS}"
            )
        if self.lr <= 0:
            raise ValueError(f"eta: must be positive, got {self.lr}")
        self._buffers = {}
        self.accumulators = {
            name: torch.full_like(t, self.initial_accumulator) for name, t in self.tables.items()
        }

    def step(self, name: str, rows: torch.Tensor, grads: torch.Tensor) -> None:
        """Apply the summed gradient ``grads`` (n, ...) of ``rows`` (n,) to table ``name``.

        The gradients are scattered into a dense buffer: rows the batch does not touch have a
        zero gradient, which leaves both their accumulator and their value unchanged, so this is
        the sparse update, done with a few dense element-wise kernels instead of a sort.
        """
        table, acc = self.tables[name], self.accumulators[name]
        summed = self._buffers.setdefault(name, torch.zeros_like(table))
        summed.zero_()
        summed.index_add_(0, rows, grads)
        if self.variant == "standard":
            acc.addcmul_(summed, summed)
            table.addcdiv_(summed, (acc + self.eps).sqrt_(), value=-self.lr)
        else:
            table.addcdiv_(summed, acc.sqrt(), value=-self.lr)
            acc.addcmul_(summed, summed, value=self.lr * self.lr)
