"""Post 5's dense LP against POT's network simplex on the same problems (docs/BENCHMARKS.md).

    .venv/bin/python benchmarks/transport_lp.py [--sizes 10 25 50 100 200 300 500] [--repeats 3]
        [--dense-limit-mb 600] [--output bench.csv]

For each n: random p, q (Dirichlet) on n Gaussian points in 2-D, c = |x - y|. Times (best of
``--repeats``, one thread):

- ``dense``: the post's construction as written, A a dense (2n) x n^2 0/1 array, HiGHS primal;
  skipped once A alone would exceed ``--dense-limit-mb`` (its size is reported instead);
- ``sparse``: the same A as a scipy sparse matrix (what the pipeline passes), HiGHS primal;
- ``dual``: the dual max b^T F s.t. A^T F <= C (sparse A), HiGHS;
- ``pot``: ``ot.emd2`` (network simplex, C++).

Each LP value is checked against POT's to 1e-7 x max C. Prints one CSV row per (n, method).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time

import numpy as np
import ot
from threadpoolctl import threadpool_limits

from pipeline.transport import lp


def best_time(fn, repeats: int, *args, **kwargs) -> tuple[float, float]:
    """(best wall seconds over ``repeats`` calls, the value): fn returns an LPSolution or a float."""
    best, value = float("inf"), float("nan")
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        value = float(getattr(out, "value", out))
        best = min(best, time.perf_counter() - start)
    return best, value


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 25, 50, 100, 200, 300, 500])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dense-limit-mb", type=float, default=600.0)
    ap.add_argument("--output", default="-")
    args = ap.parse_args(argv)
    out = sys.stdout if args.output == "-" else open(args.output, "w", newline="")
    writer = csv.writer(out)
    writer.writerow(
        ["n", "method", "seconds", "ratio_to_pot", "value", "abs_diff_to_pot_rel", "note"]
    )
    with threadpool_limits(1):
        for n in args.sizes:
            rng = np.random.default_rng(n)
            x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 0.5
            p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n))
            cost = np.linalg.norm(x[:, None] - y[None], axis=-1)
            scale = cost.max()
            t_pot, v_pot = best_time(ot.emd2, args.repeats, p, q, cost)
            writer.writerow(
                [n, "pot", f"{t_pot:.6f}", "1.0", f"{v_pot:.12g}", "0", "network simplex"]
            )
            dense_mb = 2 * n * n * n * 8 / 2**20
            runs = {"sparse": (lp.primal, False), "dual": (lp.dual, False)}
            if dense_mb <= args.dense_limit_mb:
                runs = {"dense": (lp.primal, True), **runs}
            else:
                writer.writerow(
                    [n, "dense", "", "", "", "", f"skipped: A alone is {dense_mb:.0f} MB"]
                )
            reps = args.repeats if n <= 200 else 1
            for name, (fn, dense) in runs.items():
                t, v = best_time(fn, reps, p, q, cost, dense=dense)
                writer.writerow(
                    [
                        n,
                        name,
                        f"{t:.6f}",
                        f"{t / t_pot:.1f}",
                        f"{v:.12g}",
                        f"{abs(v - v_pot) / scale:.2e}",
                        f"A {dense_mb:.1f} MB" if name == "dense" else "",
                    ]
                )
            out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
