"""``make bench``: every side-by-side benchmark the project claims, one after another, in one report.

    .venv/bin/python benchmarks/bench.py --size quick|reference|tiny [--out-dir results/benchmarks]
        [--shared ../shared/data] [--workspace .] [--only NAME ...] [--lock /tmp/bench.lock]

Each benchmark is one of the scripts beside this one, run as a subprocess (one at a time, under an
exclusive ``flock`` on ``--lock`` held for the whole run, so no other timed run of this project
overlaps it); each runs ours and its peer interleaved in that one process and writes a JSON record,
which this script reads. The report, ``<out-dir>/bench-<size>.json`` and ``.md``, has one row per
comparison: ours, the peer, their ratio, the target and whether it is met, the load average before
and after the script, and, once, the machine (CPU model, cores), commit, date and library versions.

Sizes: ``reference`` runs the documented sizes of docs/BENCHMARKS.md on the ../shared mirrors (the
English reference corpus for counting and word vectors; a clear error if absent); ``quick`` (a few
minutes on 2 cores) and ``tiny`` (the smoke test's, seconds per script) run on synthetic data or data
shipped inside a dependency, so they run on any machine. Ratios at ``quick`` and ``tiny`` sizes carry
the fixed costs of small inputs (process start-up, imports), so their targets are checked only at
``reference`` size; they are for checking a machine, not for the record.

The last row times a no-op ``snakemake -n`` (the DAG build) in ``--workspace``; where the default
DAG has not been run to completion there, the row says 'skipped' and why.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import fcntl
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO))

from pipeline.provenance import git_state, library_versions  # noqa: E402

SIZES = ("tiny", "quick", "reference")
EXTRA_LIBRARIES = ("numba", "pot", "threadpoolctl")
DRY_RUN_BUDGET_S = 3.0  # issue 19 item 4
COUNTING_TARGET = 0.8  # issue 19 item 2: count + merge against the SciPy peer
GMM_TARGET = 0.9  # issue 19 item 3: ours (numpy backend) against scikit-learn
ENWIKI = "text/enwiki2015_wikiextractor_AA.txt.bz2"
# Synthetic Zipf corpus for the counting and word-vector rows at quick / tiny size: tokens, types.
SYNTHETIC = {"tiny": (60_000, 5_000), "quick": (5_000_000, 100_000)}


@dataclass
class Context:
    size: str
    python: str
    work: Path
    shared: Path
    workspace: Path
    corpus: dict = field(default_factory=dict)  # the counting run's workdir, reused by vectors


@dataclass
class Row:
    """One comparison. ``ratio`` is ours / peer for times, ours / peer for rates as well (so a
    ratio above 1 means ours is slower for times and faster for rates: ``better`` says which)."""

    benchmark: str
    case: str
    ours_label: str
    peer_label: str
    ours: float
    peer: float
    unit: str
    better: str  # "lower" (times) or "higher" (rates)
    target: float | None  # bound on the ratio; None: no target (reported only)
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.ours / self.peer

    def met(self, size: str) -> bool | None:
        if self.target is None or size != "reference":
            return None
        return self.ratio <= self.target if self.better == "lower" else self.ratio >= self.target

    def as_dict(self, size: str) -> dict:
        op = "<=" if self.better == "lower" else ">="
        return {
            "benchmark": self.benchmark,
            "case": self.case,
            "ours_label": self.ours_label,
            "peer_label": self.peer_label,
            "ours": self.ours,
            "peer": self.peer,
            "unit": self.unit,
            "ratio": self.ratio,
            "ratio_is": f"ours / peer ({self.better} is better for ours)",
            "target": None if self.target is None else f"ratio {op} {self.target:g}",
            "met": self.met(size),
            "note": self.note,
        }


@dataclass(frozen=True)
class Benchmark:
    name: str
    claim: str
    # (context, folder for this benchmark's files) -> (command, JSON file it writes); None: skip
    command: Callable[[Context, Path], tuple[list[str], Path] | str]
    rows: Callable[[dict, Context], list[Row]]
    # an untimed run first (e.g. to compile numba kernels whose cache a code edit invalidated)
    warm_up: Callable[[Context, Path], list[str]] | None = None


# --------------------------------------------------------------------------------------------
# Data for the quick and tiny sizes


def zipf_corpus(path: Path, tokens: int, types: int, seed: int = 0) -> None:
    """A plain-text corpus (one 1,000-token document per line) of ``tokens`` words drawn from
    ``types`` letter-only words with Zipf-Mandelbrot frequencies p(r) ∝ (r + 2.7)^-1.07 (close to
    English text's), so that counting meets a realistic mix of frequent and rare pairs."""
    rng = np.random.default_rng(seed)
    p = (np.arange(types) + 2.7) ** -1.07
    ids = rng.choice(types, size=tokens, p=p / p.sum())
    words = np.array([_letters(r) for r in range(types)])
    with path.open("w", encoding="ascii") as f:
        for start in range(0, tokens, 1000):
            f.write(" ".join(words[ids[start : start + 1000]]) + "\n")


def _letters(n: int) -> str:
    out = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(97 + r) + out
    return out


# --------------------------------------------------------------------------------------------
# The benchmarks: how each script is called at each size, and how its record becomes rows


def counting_command(ctx: Context, folder: Path):
    work = folder / "work"
    if ctx.size == "reference":
        source = ctx.shared / ENWIKI
        if not source.is_file():
            raise FileNotFoundError(
                f"{source}: the English reference corpus is missing (the ../shared mirror; "
                "pass --shared DIR holding text/enwiki2015_wikiextractor_AA.txt.bz2, or run "
                "--size quick, which needs no data)"
            )
        args = ["--source", str(source), "--format", "wikiextractor", "--tokenizer", "text8"]
    else:
        source = folder / "zipf.txt"
        zipf_corpus(source, *SYNTHETIC[ctx.size])
        args = ["--source", str(source), "--format", "plain", "--tokenizer", "whitespace"]
        args += ["--max-memory-mb", "1024" if ctx.size == "quick" else "64"]
    ctx.corpus["workdir"] = work
    cmd = [ctx.python, str(HERE / "text_cooccur.py"), *args, "--workdir", str(work)]
    return cmd, work / "benchmark.json"


def counting_warm_up(ctx: Context, folder: Path) -> list[str]:
    """text_cooccur.py on a tiny corpus without the peer: the counting verbs' numba kernels are
    compiled (or loaded from their cache) before the timed run, which otherwise counts a
    compilation of several seconds per process whenever the kernels' source changed."""
    source = folder / "warm-up.txt"
    zipf_corpus(source, *SYNTHETIC["tiny"])
    args = ["--source", str(source), "--format", "plain", "--tokenizer", "whitespace"]
    args += ["--max-memory-mb", "64", "--skip-peer", "--workdir", str(folder / "warm-up")]
    return [ctx.python, str(HERE / "text_cooccur.py"), *args]


def counting_rows(rec: dict, ctx: Context) -> list[Row]:
    tokens = rec["corpus"].get("tokens")
    return [
        Row(
            "counting",
            f"{w} weights, window {rec['args']['window']}, {tokens:,} tokens, "
            f"{rec['unit']['nnz']:,} non-zeros",
            "count (shard jobs in parallel) + merge, CLI verbs",
            "SciPy per-offset COO count, in memory (anchors.md §1.6)",
            rec[w]["count_plus_merge_s"],
            rec[w]["peer_wall_s"],
            "s",
            "lower",
            COUNTING_TARGET,
            "same matrix as the peer"
            if rec[w].get("equal_to_peer", rec[w].get("same_nonzeros_as_peer"))
            else "MATRIX DIFFERS FROM THE PEER",
        )
        for w in ("unit", "harmonic")
    ]


def em_target(case: str) -> float | None:
    """The bound on ours / sklearn: GMM 0.9 (issue 19 item 3), KMeans 1.0 (issue 4), pLSA none
    (its peer, NMF-KL, is a different algorithm)."""
    if case.startswith("GMM"):
        return GMM_TARGET
    return None if case.startswith("pLSA") else 1.0


def em_command(ctx: Context, folder: Path):
    out = folder / "em_speed.json"
    threads = "1" if ctx.size == "tiny" else "2"
    cmd = [ctx.python, str(HERE / "em_speed.py"), "--threads", threads, "--out", str(out)]
    if ctx.size == "tiny":  # em_speed.py has no smaller shapes than --quick's
        cmd += ["--quick", "--repeats", "1", "--no-torch"]
    elif ctx.size == "quick":
        cmd += ["--quick", "--no-torch"]
    return cmd, out


def em_rows(rec: dict, ctx: Context) -> list[Row]:
    rows = []
    for r in rec["rows"]:
        target = em_target(r["case"])
        for impl in (k for k in r if k.startswith("ours_") and "/" not in k):
            rows.append(
                Row(
                    "em",
                    f"{r['case']}, {r['n_iter']} iterations",
                    impl.replace("_", " "),
                    "scikit-learn (NMF-KL for pLSA)",
                    r[impl],
                    r["sklearn"],
                    "s",
                    "lower",
                    target if impl == "ours_numpy" else None,
                    "same labels / log-likelihood as sklearn (asserted by the script)",
                )
            )
    return rows


def vectors_command(ctx: Context, folder: Path):
    work = ctx.corpus.get("workdir")
    if work is None or not (work / "vocab.parquet").is_file():
        return "needs the counting benchmark's corpus (run it in the same call)"
    out = folder / "vectors.json"
    cmd = [ctx.python, str(HERE / "vectors_reference.py"), "--text-dir", str(work)]
    cmd += ["--method", "sg", "--threads", "2", "--peer", "--json", str(out)]
    if ctx.size == "reference":
        cmd += ["--dim", "100", "--epochs", "5"]
    else:
        cmd += ["--no-evaluate", "--dim", "50" if ctx.size == "quick" else "16", "--epochs", "1"]
    return cmd, out


def vectors_rows(rec: dict, ctx: Context) -> list[Row]:
    s = rec["settings"]
    return [
        Row(
            "word vectors",
            f"skip-gram, dim {s['dim']}, window {s['window']}, {s['epochs']} epochs, "
            f"{rec['vocab_size']:,} words, {rec['threads']} threads",
            "gensim streamed from the token shards (the vectors verbs)",
            "gensim corpus_file (anchors.md §1.3)",
            rec["train_wall_s"],
            rec["peer_train_wall_s"],
            "s",
            "lower",
            None,
            "the C GloVe / simpler_glove peers are not installed: no runnable peer for them",
        )
    ]


def engine_command(script: str, sizes: dict):
    def command(ctx: Context, folder: Path):
        out = folder / f"{Path(script).stem}.json"
        return [ctx.python, str(HERE / script), *sizes[ctx.size], "--json", str(out)], out

    return command


def rate_rows(benchmark: str, ours: str, peer: str, unit: str, labels: tuple[str, str]):
    def rows(rec: dict, ctx: Context) -> list[Row]:
        shape = "x".join(map(str, rec["image"]))
        case = f"{shape}, batch {rec['batch']}, {rec['steps']} steps"
        return [Row(benchmark, case, *labels, rec[ours], rec[peer], unit, "higher", 0.95)]

    return rows


def dynamics_rows(rec: dict, ctx: Context) -> list[Row]:
    return [
        Row(
            "EMA decays",
            f"{rec['model']} ({rec['params']:,} parameters), batch {rec['batch']}, "
            f"{rec['steps']} steps",
            "engine step, three EMA decays",
            "engine step, one EMA decay",
            rec["step_s_three_decays"],
            rec["step_s_one_decay"],
            "s/step",
            "lower",
            1.05,
            f"one EMA update alone: {100 * rec['extra_share_from_update']:.1f} % of a step ×2",
        )
    ]


def transport_command(ctx: Context, folder: Path):
    out = folder / "transport_lp.csv"
    sizes = {"tiny": ["10"], "quick": ["10", "50", "100"], "reference": []}[ctx.size]
    cmd = [ctx.python, str(HERE / "transport_lp.py"), "--output", str(out)]
    if sizes:
        cmd += ["--sizes", *sizes]
    if ctx.size == "tiny":
        cmd += ["--repeats", "1"]
    return cmd, out


def transport_rows(rec: dict, ctx: Context) -> list[Row]:
    rows = []
    for r in rec["rows"]:
        if r["method"] == "pot" or not r["seconds"]:
            continue
        pot = next(x for x in rec["rows"] if x["n"] == r["n"] and x["method"] == "pot")
        rows.append(
            Row(
                "transport LP",
                f"n = {r['n']}, {r['method']} {'dual' if r['method'] == 'dual' else 'primal'}",
                f"post 5's LP, HiGHS ({r['method']})",
                "POT ot.emd2 (network simplex)",
                float(r["seconds"]),
                float(pot["seconds"]),
                "s",
                "lower",
                None,
                f"value within {r['abs_diff_to_pot_rel']} x max C of POT's",
            )
        )
    return rows


def dry_run_command(ctx: Context, folder: Path):
    out = folder / "dry_run.json"
    repeats = {"tiny": 1, "quick": 3, "reference": 5}[ctx.size]
    cmd = [ctx.python, str(HERE / "bench.py"), "--dry-run-only", str(ctx.workspace)]
    return [*cmd, "--repeats", str(repeats), "--json", str(out)], out


def dry_run_rows(rec: dict, ctx: Context) -> list[Row] | str:
    if not rec["complete"]:
        return f"{rec['workspace']}: the default DAG is not complete there ({rec['reason']})"
    return [
        Row(
            "DAG dry run",
            f"no-op snakemake -n on a completed default run, median of {len(rec['seconds'])} "
            f"({', '.join(f'{s:.2f}' for s in rec['seconds'])} s)",
            "snakemake -n",
            "issue 19's budget",
            statistics.median(rec["seconds"]),
            DRY_RUN_BUDGET_S,
            "s",
            "lower",
            1.0,
            f"{rec['jobs_in_dag']} jobs in the DAG",
        )
    ]


def time_dry_run(workspace: Path, repeats: int) -> dict:
    """Time ``snakemake -n`` in ``workspace`` (after one untimed warm-up where ``repeats`` > 1);
    complete: whether it found nothing to do."""
    snakemake = Path(sys.executable).parent / "snakemake"
    cmd = [str(snakemake), "-n", "--cores", "2"]
    rec = {"workspace": str(workspace), "command": " ".join(cmd), "seconds": []}
    # snakemake as a user runs it there: without the path checkout_env() put first
    env = dict(os.environ)
    path = [p for p in env.pop("PYTHONPATH", "").split(os.pathsep) if p and p != str(REPO)]
    if path:
        env["PYTHONPATH"] = os.pathsep.join(path)
    if not (workspace / "Snakefile").is_file():
        return {**rec, "complete": False, "reason": "no Snakefile", "jobs_in_dag": 0}
    warm_up = int(repeats > 1)
    for k in range(repeats + warm_up):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=workspace, env=env, capture_output=True, text=True)
        if k >= warm_up:
            rec["seconds"].append(time.perf_counter() - start)
        if proc.returncode:
            return {**rec, "complete": False, "reason": proc.stderr[-400:], "jobs_in_dag": 0}
        output = proc.stdout + proc.stderr
        if "Nothing to be done" not in output:
            reason = f"{_total_jobs(output) or 'some'} jobs would run"
            return {**rec, "complete": False, "reason": reason, "jobs_in_dag": 0}
    forced = subprocess.run(
        [*cmd, "--forceall"], cwd=workspace, env=env, capture_output=True, text=True
    )
    rec["jobs_in_dag"] = _total_jobs(forced.stdout + forced.stderr)
    return {**rec, "complete": True, "reason": ""}


def _total_jobs(output: str) -> int | None:
    """The job count of snakemake -n's summary table (its 'total N' line)."""
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "total" and parts[1].isdigit():
            return int(parts[1])
    return None


BENCHMARKS = (
    Benchmark(
        "counting",
        "co-occurrence counting vs SciPy",
        counting_command,
        counting_rows,
        counting_warm_up,
    ),
    Benchmark("vectors", "word-vector fits vs gensim corpus_file", vectors_command, vectors_rows),
    Benchmark("em", "KMeans / GMM / pLSA vs scikit-learn", em_command, em_rows),
    Benchmark(
        "images_engine",
        "the shared engine vs a bare PyTorch loop (VQ-VAE)",
        engine_command(
            "images_engine_overhead.py",
            {
                "tiny": ["--steps", "5", "--batch", "16"],
                "quick": ["--steps", "100"],
                "reference": ["--steps", "200"],
            },
        ),
        rate_rows(
            "engine (VQ-VAE)",
            "engine_img_per_s",
            "bare_img_per_s",
            "img/s",
            ("shared engine", "bare PyTorch loop"),
        ),
    ),
    Benchmark(
        "estimators_engine",
        "the shared engine vs a bare PyTorch loop (discrete VAE)",
        engine_command(
            "estimators_dvae_engine.py",
            {
                "tiny": ["--steps", "5", "--size", "8", "--batch", "16", "--repeats", "1"],
                "quick": ["--steps", "100", "--size", "8"],
                "reference": ["--steps", "60", "--size", "28"],
            },
        ),
        rate_rows(
            "engine (discrete VAE)",
            "engine_img_per_s",
            "bare_img_per_s",
            "img/s",
            ("shared engine", "bare PyTorch loop"),
        ),
    ),
    Benchmark(
        "energy_langevin",
        "Langevin sampler vs a bare sampler loop",
        engine_command(
            "energy_langevin.py",
            {
                "tiny": ["--steps", "3", "--batch", "8", "--width", "8"],
                "quick": ["--steps", "60"],
                "reference": ["--steps", "60", "--size", "28", "--batch", "64"],
            },
        ),
        rate_rows(
            "Langevin",
            "ours_steps_per_s",
            "bare_steps_per_s",
            "steps/s (CPU)",
            ("ImageEBM.chains", "bare sampler loop"),
        ),
    ),
    Benchmark(
        "dynamics_ema",
        "three EMA decays vs one",
        engine_command(
            "dynamics_ema.py",
            {
                "tiny": ["--steps", "5", "--repeats", "1", "--batch", "32"],
                "quick": ["--steps", "100", "--repeats", "3"],
                "reference": ["--steps", "200", "--repeats", "5"],
            },
        ),
        dynamics_rows,
    ),
    Benchmark("transport_lp", "post 5's LP vs POT", transport_command, transport_rows),
    Benchmark("dag_dry_run", "no-op DAG dry run vs 3 s", dry_run_command, dry_run_rows),
)


# --------------------------------------------------------------------------------------------
# Running and reporting


def read_record(path: Path) -> dict:
    if path.suffix == ".csv":
        with path.open(newline="") as f:
            return {"rows": list(csv.DictReader(f))}
    return json.loads(path.read_text())


def checkout_env() -> dict:
    """The environment of the benchmark scripts: this checkout's package first on the path (a
    script's own folder is its sys.path[0], and the venv's editable install may point at another
    checkout)."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(REPO) + (os.pathsep + path if path else "")}


def run_one(bench: Benchmark, ctx: Context) -> dict:
    folder = ctx.work / bench.name
    folder.mkdir(parents=True, exist_ok=True)
    entry = {"benchmark": bench.name, "claim": bench.claim, "rows": []}
    try:
        planned = bench.command(ctx, folder)
    except FileNotFoundError as exc:
        return {**entry, "status": "failed", "reason": str(exc)}
    if isinstance(planned, str):
        return {**entry, "status": "skipped", "reason": planned}
    cmd, out = planned
    entry["command"] = " ".join(cmd)
    if bench.warm_up is not None and ctx.size != "tiny":
        warm = subprocess.run(
            bench.warm_up(ctx, folder), cwd=REPO, env=checkout_env(), capture_output=True, text=True
        )
        if warm.returncode:
            tail = " | ".join(warm.stderr.strip().splitlines()[-5:])
            return {
                **entry,
                "status": "failed",
                "reason": f"warm-up exit {warm.returncode}: {tail}",
            }
    entry["load_before"] = list(os.getloadavg())
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=checkout_env(), capture_output=True, text=True)
    entry["wall_s"] = round(time.perf_counter() - start, 2)
    entry["load_after"] = list(os.getloadavg())
    (folder / "stdout.txt").write_text(proc.stdout)
    (folder / "stderr.txt").write_text(proc.stderr)
    if proc.returncode or not out.is_file():
        tail = proc.stderr.strip().splitlines()[-5:]
        reason = f"exit {proc.returncode}: " + " | ".join(tail)
        return {**entry, "status": "failed", "reason": reason}
    rows = bench.rows(read_record(out), ctx)
    if isinstance(rows, str):
        return {**entry, "status": "skipped", "reason": rows}
    entry["rows"] = [r.as_dict(ctx.size) for r in rows]
    bad = [r for r in entry["rows"] if not (math.isfinite(r["ratio"]) and r["ratio"] > 0)]
    if bad:
        return {**entry, "status": "failed", "reason": f"non-finite or non-positive ratio: {bad}"}
    return {**entry, "status": "ok"}


def machine() -> dict:
    model = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    if not model:
        with contextlib.suppress(OSError):
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    return {
        "cpu_model": model or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "node": platform.node(),
        "system": platform.platform(),
    }


def versions() -> dict:
    out = dict(library_versions())
    for name in EXTRA_LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        f"# make bench, size {report['size']}",
        "",
        f"{report['date_utc']}, commit {report['commit'][:10]}"
        f"{' (dirty)' if report['dirty'] else ''}, {m['cpu_model']}, {m['cores']} cores "
        f"({m['cores_usable']} usable), {m['memory_gib']} GiB; load average "
        f"{_load(report['load_before'])} before, {_load(report['load_after'])} after; "
        f"{report['wall_s']:.0f} s in all.",
        "",
        "Ratio = ours / peer: for s and s/step lower is better for ours, for rates higher. "
        + (
            "Targets are checked at reference size only."
            if report["size"] != "reference"
            else "met: the ratio against the target."
        ),
        "",
        "| benchmark | case | ours | peer | ours | peer | ratio | target | met | load before → after |",
        "|---|---|---|---|---:|---:|---:|---|---|---|",
    ]
    for entry in report["benchmarks"]:
        load = f"{_load(entry.get('load_before'))} → {_load(entry.get('load_after'))}"
        if entry["status"] != "ok":
            reason = entry["reason"].replace("|", "/").replace("\n", " ")[:300]
            lines.append(
                f"| {entry['benchmark']} | **{entry['status']}**: {reason} |||||||| {load} |"
            )
            continue
        for r in entry["rows"]:
            met = {True: "yes", False: "**no**", None: "–"}[r["met"]]
            lines.append(
                f"| {r['benchmark']} | {r['case']} | {r['ours_label']} | {r['peer_label']} | "
                f"{r['ours']:.4g} {r['unit']} | {r['peer']:.4g} {r['unit']} | "
                f"**{r['ratio']:.3g}** | {r['target'] or '–'} | {met} | {load} |"
            )
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items())]
    return "\n".join(lines) + "\n"


def _load(load) -> str:
    return "?" if not load else f"{load[0]:.2f}"


@contextlib.contextmanager
def held(lock: str):
    """An exclusive flock on ``lock`` (waits for another timed run to end); '' holds none.
    Do not wrap this script in ``flock`` on the same file: it would wait for itself."""
    if not lock:
        yield
        return
    with open(lock, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for {lock} (another timed run) ...", file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", choices=SIZES, default="quick")
    ap.add_argument("--out-dir", default=str(REPO / "results" / "benchmarks"))
    ap.add_argument(
        "--shared",
        default=str(REPO.parent / "shared" / "data"),
        help="the data mirrors (reference size only)",
    )
    ap.add_argument(
        "--workspace",
        default=str(REPO),
        help="a checkout where the default DAG has been run (for the dry-run row)",
    )
    ap.add_argument("--only", nargs="+", choices=[b.name for b in BENCHMARKS], default=None)
    ap.add_argument("--lock", default="/tmp/bench.lock", help="flock file; '' for none")
    ap.add_argument("--keep", action="store_true", help="keep the benchmarks' work folder")
    ap.add_argument("--dry-run-only", metavar="WORKSPACE", help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=3, help=argparse.SUPPRESS)
    ap.add_argument("--json", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.dry_run_only:  # the dry-run benchmark's own subprocess
        rec = time_dry_run(Path(args.dry_run_only).resolve(), args.repeats)
        Path(args.json).write_text(json.dumps(rec, indent=1))
        return 0

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = [b for b in BENCHMARKS if args.only is None or b.name in args.only]
    with held(args.lock), tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp) if not args.keep else Path(tempfile.mkdtemp(prefix="bench-keep-"))
        ctx = Context(
            args.size,
            sys.executable,
            work,
            Path(args.shared),
            Path(args.workspace).resolve(),
        )
        commit, dirty = git_state()
        report = {
            "size": args.size,
            "date_utc": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M"),
            "commit": commit,
            "dirty": dirty,
            "machine": machine(),
            "versions": versions(),
            "load_before": list(os.getloadavg()),
            "lock": args.lock or None,
            "benchmarks": [],
        }
        start = time.perf_counter()
        for bench in chosen:
            print(f"[bench] {bench.name} ...", file=sys.stderr, flush=True)
            entry = run_one(bench, ctx)
            report["benchmarks"].append(entry)
            summary = ", ".join(f"{r['ratio']:.3g}" for r in entry["rows"]) or entry.get("reason")
            print(f"[bench] {bench.name}: {entry['status']} ({summary})", file=sys.stderr)
        report["wall_s"] = round(time.perf_counter() - start, 1)
        report["load_after"] = list(os.getloadavg())
        if args.keep:
            report["work"] = str(work)
    json_path, md_path = out_dir / f"bench-{args.size}.json", out_dir / f"bench-{args.size}.md"
    json_path.write_text(json.dumps(report, indent=1))
    md_path.write_text(markdown(report))
    print(markdown(report))
    print(f"wrote {json_path} and {md_path}", file=sys.stderr)
    return 1 if any(e["status"] == "failed" for e in report["benchmarks"]) else 0


if __name__ == "__main__":
    sys.exit(main())
