"""The numba engine: per-cell updates against a NumPy reference, determinism, the NaN guard."""

import numba
import numpy as np
import pytest

from pipeline.vectors.cellwise import (
    CellwiseConfig,
    epoch_seeds,
    pack_tables,
    round_orders,
    run_cells,
    run_epoch,
    schedule,
    set_threads,
    shuffle_strata,
    sorted_cells,
)
from pipeline.vectors.cooccurrence import pmi_targets
from pipeline.vectors.glove import GloveConfig, fit_glove
from pipeline.vectors.simpler_glove import SimplerGloveConfig, fit_simpler_glove
from pipeline.vectors.strata import stratify, thread_plan
from pipeline.vectors.training import DivergenceError, resolve_engine


def adagrad(x, acc, g, eta, eps, lagged):
    """In place, float64, the two variants as adagrad.py documents them."""
    if lagged:
        x -= eta * g / np.sqrt(acc)
        acc += (eta * g) ** 2
    else:
        acc += g * g
        x -= eta * g / np.sqrt(acc + eps)


def reference(tables, cells, order, eta, eps, lagged, clip, glove):
    """One cell at a time in ``order``, in float64: (tables, accumulators, loss sum)."""
    t = {k: v.astype(np.float64) for k, v in tables.items()}
    acc = {k: np.ones_like(v) for k, v in t.items()}
    x, y = t["W"], t["C"] if glove else t["W"]
    gx, gy = acc["W"], acc["C"] if glove else acc["W"]
    total = 0.0
    for n in order:
        i, j, target, f = cells[0][n], cells[1][n], cells[2][n], cells[3][n]
        xi, yj = x[i].copy(), y[j].copy()
        r = xi @ yj - target + (t["b"][i] + t["c"][j] if glove else 0.0)
        total += 0.5 * f * r * r
        adagrad(x[i], gx[i], np.clip(f * r * yj, -clip, clip), eta, eps, lagged)
        adagrad(y[j], gy[j], np.clip(f * r * xi, -clip, clip), eta, eps, lagged)
        if glove:
            adagrad(t["b"][i : i + 1], acc["b"][i : i + 1], f * r, eta, eps, lagged)
            adagrad(t["c"][j : j + 1], acc["c"][j : j + 1], f * r, eta, eps, lagged)
    return t, acc, total


@pytest.mark.parametrize("glove", [False, True])
@pytest.mark.parametrize("lagged", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cell_updates_match_numpy_reference(glove, lagged, dtype):
    rng = np.random.default_rng(0)
    v, d, n = 7, 5, 60
    i, j = rng.integers(0, v, n), rng.integers(0, v, n)
    if not glove:  # simpler GloVe trains on the off-diagonal cells only
        j[i == j] = (j[i == j] + 1) % v
    cells = (
        i.astype(np.int32),
        j.astype(np.int32),
        rng.normal(size=n).astype(dtype),
        rng.uniform(0.1, 2.0, n).astype(dtype),
    )
    names = ("W", "C", "b", "c") if glove else ("W",)
    shapes = {"W": (v, d), "C": (v, d), "b": (v,), "c": (v,)}
    tables = {k: rng.normal(size=shapes[k]).astype(dtype) for k in names}
    eta, eps, clip = 0.1, 1e-8, 0.5 if glove else np.inf
    order = rng.permutation(n)
    expect, expect_acc, expect_loss = reference(tables, cells, order, eta, eps, lagged, clip, glove)
    packed = pack_tables(tables)
    hyper = np.array([eta, eps, lagged, clip], dtype=dtype)
    old = np.empty((4, d), dtype)
    loss, skipped, bad, _ = run_cells(packed, cells, order, 0, n, hyper, glove, True, old)
    assert (skipped, bad) == (0, -1)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    assert loss == pytest.approx(expect_loss, rel=tol)
    for k, name in enumerate(names):
        np.testing.assert_allclose(tables[name], expect[name], rtol=tol, atol=tol / 10)
        np.testing.assert_allclose(packed[2 * k + 1], expect_acc[name], rtol=tol, atol=tol / 10)


@pytest.mark.parametrize("glove", [False, True])
@pytest.mark.parametrize("sweeps", [1, 3])
def test_epoch_equals_sequential_replay_of_its_schedule(glove, sweeps):
    # the parallel pass (strata of a round on two threads, sweep k on the k-th slice of every
    # stratum) equals one cell at a time in the order schedule() lists
    rng = np.random.default_rng(1)
    v, d, n, groups = 23, 4, 800, 4
    i, j = rng.integers(0, v, n), rng.integers(0, v, n)
    j[i == j] = (j[i == j] + 1) % v
    strata = stratify(i, j, groups, symmetric=not glove)
    cells = sorted_cells(strata.perm, i, j, rng.normal(size=n), rng.uniform(0.1, 2, n), np.float64)
    names = ("W", "C", "b", "c") if glove else ("W",)
    shapes = {"W": (v, d), "C": (v, d), "b": (v,), "c": (v,)}
    tables = {k: rng.normal(size=shapes[k]) / d for k in names}
    order = np.arange(n, dtype=np.int64)
    shuffle_strata(order, strata.offsets, np.uint64(7))
    rounds = len(strata.rounds)
    round_order = np.stack([rng.permutation(rounds) for _ in range(sweeps)])
    replay = np.concatenate([order[lo:hi] for *_, lo, hi in schedule(strata, round_order)])
    assert sorted(replay) == list(range(n))  # every cell once per pass
    expect, _, expect_loss = reference(tables, cells, replay, 0.1, 1e-8, False, np.inf, glove)
    packed = pack_tables(tables)
    hyper = np.array([0.1, 1e-8, 0, np.inf])
    out = np.zeros((groups * groups, 4))
    out[:, 2] = -1
    plan = thread_plan(strata.rounds, strata.offsets, 2)
    bad = run_epoch(
        packed, cells, order, strata.offsets, plan, round_order, hyper, glove, True, out
    )
    assert tuple(bad) == (-1, -1)
    assert out[:, 0].sum() == pytest.approx(expect_loss, rel=1e-12)
    for name in names:
        np.testing.assert_allclose(tables[name], expect[name], rtol=1e-12, atol=1e-14)


def train(kind, cooc, seed=0, **kw):
    kw = {"dim": 8, "epochs": 3, "device": "cpu", "engine": "numba", **kw}
    if kind == "glove":
        return fit_glove(cooc, GloveConfig(**kw), seed)[:2]
    return fit_simpler_glove(cooc, SimplerGloveConfig(**{"x_max": 10, **kw}), seed)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
@pytest.mark.parametrize("kind, interleave", [("simpler_glove", 1), ("glove", 1), ("glove", 3)])
def test_same_bits_for_one_and_two_threads(tiny_cooc, kind, interleave):
    results = []
    try:
        for threads in (1, 2, 1):
            assert set_threads(threads) == threads
            results.append(train(kind, tiny_cooc, seed=5, interleave=interleave))
    finally:
        set_threads(numba.config.NUMBA_NUM_THREADS)
    for vectors, history in results[1:]:
        np.testing.assert_array_equal(vectors, results[0][0])
        assert [h["loss"] for h in history] == [h["loss"] for h in results[0][1]]
    other, _ = train(kind, tiny_cooc, seed=6)
    assert not np.array_equal(other, results[0][0])


def test_float64_tables_train_close_to_float32(tiny_cooc):
    single, _ = train("glove", tiny_cooc)
    double, history = train("glove", tiny_cooc, precision="float64")
    assert double.dtype == np.float32 and np.isfinite(history[-1]["loss"])
    np.testing.assert_allclose(double, single, atol=1e-4)
    with pytest.raises(ValueError, match="precision"):
        GloveConfig(precision="float16")


def test_loss_falls_and_vectors_fit_pmi(tiny_cooc):
    cfg = SimplerGloveConfig(dim=16, epochs=30, x_max=10, device="cpu", engine="numba")
    vectors, history = fit_simpler_glove(tiny_cooc, cfg, random_state=0)
    assert history[-1]["loss"] < 0.2 * history[0]["loss"]
    assert set(history[0]) == {"epoch", "loss", "skipped", "seconds"}
    off = tiny_cooc.off_diagonal()
    heavy = off.x >= 10
    fitted = (vectors[off.i[heavy]] * vectors[off.j[heavy]]).sum(1)
    assert np.corrcoef(fitted, pmi_targets(off)[heavy])[0, 1] > 0.9
    _, glove_history = train("glove", tiny_cooc, epochs=10)
    assert glove_history[-1]["loss"] < 0.5 * glove_history[0]["loss"]


OVERFLOW = dict(x_max=1e-3, alpha=40, truncate=False)  # every weight overflows float32


def test_divergence_names_epoch_step_and_loss(tiny_cooc):
    with pytest.raises(DivergenceError, match=r"step 1 \(epoch 1\): cell loss (inf|nan)"):
        train("simpler_glove", tiny_cooc, **OVERFLOW)


@pytest.mark.parametrize("interleave", [1, 4])
def test_divergence_step_is_the_bad_cells_place_in_the_schedule(tiny_cooc, interleave):
    # one cell's weight overflows: the error names its 1-based step in the pass, which the
    # skip policy confirms by leaving out exactly that cell
    off = tiny_cooc.off_diagonal()
    bad = int(np.argmax(off.x))
    x = tiny_cooc.x.copy()
    x[np.flatnonzero(tiny_cooc.i != tiny_cooc.j)[bad]] = 1e30
    cooc = type(tiny_cooc)(tiny_cooc.i, tiny_cooc.j, x, tiny_cooc.counts)
    kw = dict(x_max=1e-3, alpha=2.0, truncate=False, interleave=interleave, groups=3)
    with pytest.raises(DivergenceError, match=r"diverged at step \d+ \(epoch 1\)") as err:
        train("simpler_glove", cooc, seed=4, **kw)
    step = int(str(err.value).split("step ")[1].split(" ")[0])
    _, history = train("simpler_glove", cooc, seed=4, nan_policy="skip", epochs=1, **kw)
    assert history[0]["skipped"] == 1  # that cell alone
    # where the schedule of seed 4's first pass puts the cell
    strata = stratify(off.i, off.j, 3, symmetric=True)
    order = np.arange(len(off.x), dtype=np.int64)
    seed = epoch_seeds(4, 1)[0]
    shuffle_strata(order, strata.offsets, seed)
    round_order = round_orders(seed, len(strata.rounds), interleave)
    replay = np.concatenate([order[lo:hi] for *_, lo, hi in schedule(strata, round_order)])
    assert step == 1 + int(np.flatnonzero(strata.perm[replay] == bad)[0])


def test_skip_policy_counts_cells_and_leaves_tables_finite(tiny_cooc):
    vectors, history = train("simpler_glove", tiny_cooc, nan_policy="skip", **OVERFLOW)
    assert history[0]["skipped"] == len(tiny_cooc.off_diagonal().x)
    assert np.isfinite(vectors).all()


def test_lagged_adagrad_blows_up_where_standard_does_not(tiny_cooc):
    # untruncated weights up to ~(1000/0.01)^0.75: the lagged step η·g/√G_old is unbounded,
    # the standard one at most η per entry (post 4675, part 4)
    kw = dict(x_max=0.01, truncate=False, nan_policy="skip", epochs=5)
    _, standard = train("simpler_glove", tiny_cooc, adagrad="standard", **kw)
    vectors, lagged = train("simpler_glove", tiny_cooc, adagrad="lagged", **kw)
    assert sum(h["skipped"] for h in standard) == 0
    assert standard[-1]["loss"] < standard[0]["loss"]
    assert sum(h["skipped"] for h in lagged) > 0 or lagged[-1]["loss"] > 10 * standard[-1]["loss"]


def test_engine_choice_and_bad_config():
    import torch

    assert resolve_engine("auto", torch.device("cpu")) == "numba"
    assert resolve_engine("auto", torch.device("cuda")) == "torch"
    with pytest.raises(ValueError, match="engine"):
        resolve_engine("numba", torch.device("cuda"))
    with pytest.raises(ValueError, match="engine"):
        resolve_engine("jax", torch.device("cpu"))
    with pytest.raises(ValueError, match="groups"):
        CellwiseConfig(epochs=1, eta=0.1, groups=0)
    with pytest.raises(ValueError, match="interleave"):
        CellwiseConfig(epochs=1, eta=0.1, interleave=0)
    with pytest.raises(ValueError, match="nan_policy"):
        CellwiseConfig(epochs=1, eta=0.1, nan_policy="ignore")


def test_model_configs_hand_their_fields_to_the_engines_by_name():
    glove = GloveConfig(grad_clip=5.0, interleave=3, groups=7, eta=0.02, epochs=4).cellwise()
    assert (glove.grad_clip, glove.interleave, glove.groups, glove.eta, glove.epochs) == (
        5.0,
        3,
        7,
        0.02,
        4,
    )
    simpler = SimplerGloveConfig(interleave=2, adagrad="lagged").cellwise()
    assert (simpler.interleave, simpler.adagrad, simpler.grad_clip) == (2, "lagged", None)
    loop = SimplerGloveConfig(batch_size=99, nan_policy="skip").loop()
    assert (loop.batch_size, loop.nan_policy, loop.epochs) == (99, "skip", 30)
