"""Benchmark the text stages on a real corpus: tokenising, vocabulary, co-occurrence counting.

Runs the same CLI verbs the workflow runs (each under ``/usr/bin/time`` for wall time and peak
RSS), counting the shards in parallel as ``snakemake --cores 2`` would, then runs the peer
method in this same script on the same in-vocabulary stream: the NumPy/SciPy count "one COO
matrix per window offset, summed as CSR, then M + Mᵀ" that anchors.md §1.6 measured at the
speed of GloVe's C ``cooccur``. It checks that both give the same matrix.

    .venv/bin/python benchmarks/text_cooccur.py \\
        --source ../shared/data/text/enwiki2015_wikiextractor_AA.txt.bz2 --format wikiextractor

Prints a JSON record and a Markdown table for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import scipy.sparse as sp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.provenance import git_state  # noqa: E402
from pipeline.text.cooccur import in_vocabulary_stream  # noqa: E402
from pipeline.text.shards import read_shard  # noqa: E402
from pipeline.text.vocab import type_to_vocab_map  # noqa: E402

TIME_FORMAT = "%e %M %U %S"  # wall s, peak RSS KB, user s, system s


def _time_record(path: str) -> tuple[int, float]:
    """(peak RSS KB, CPU seconds) from a /usr/bin/time output file."""
    _, rss_kb, user, system = Path(path).read_text().split()[-4:]
    return int(rss_kb), float(user) + float(system)


def timed(cmd: list[str]) -> dict:
    """Run ``cmd`` under /usr/bin/time; wall seconds, CPU seconds and peak RSS in MB."""
    return parallel([cmd])


def parallel(cmds: list[list[str]]) -> dict:
    """Run commands at once (as snakemake --cores N does); total wall, summed CPU, max peak RSS."""
    start = time.perf_counter()
    outs = []
    procs = []
    for cmd in cmds:
        out = tempfile.NamedTemporaryFile("r", suffix=".time", delete=False)
        outs.append(out.name)
        procs.append(subprocess.Popen(["/usr/bin/time", "-f", TIME_FORMAT, "-o", out.name, *cmd]))
    for p in procs:
        if p.wait() != 0:
            raise RuntimeError(f"command failed: {p.args}")
    wall = time.perf_counter() - start
    records = [_time_record(o) for o in outs]
    for o in outs:
        Path(o).unlink()
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(sum(c for _, c in records), 2),
        "peak_rss_mb": round(max(r for r, _ in records) / 1024),
    }


def peer_per_offset_count(ids, doc, size, window, weighting):
    """anchors.md §1.6: per offset d, mask same-document pairs, COO → CSR, sum; then M + Mᵀ."""
    m = sp.csr_matrix((size, size), dtype=np.float64)
    for d in range(1, window + 1):
        same = doc[:-d] == doc[d:]
        a, b = ids[:-d][same], ids[d:][same]
        w = np.full(len(a), 1.0 if weighting == "unit" else 1.0 / d)
        m = m + sp.coo_matrix((w, (a, b)), shape=(size, size)).tocsr()
    return (m + m.T).tocsr()


def exact_harmonic_count(ids, doc, size, window):
    """Harmonic counts in exact integer arithmetic: weight L/d with L = lcm(1..window), int64.
    Returns the integer matrix and L; X = M / L, correctly rounded once."""
    lcm = math.lcm(*range(1, window + 1))
    m = sp.csr_matrix((size, size), dtype=np.int64)
    for d in range(1, window + 1):
        same = doc[:-d] == doc[d:]
        a, b = ids[:-d][same], ids[d:][same]
        m = (
            m
            + sp.coo_matrix(
                (np.full(len(a), lcm // d, dtype=np.int64), (a, b)), shape=(size, size)
            ).tocsr()
        )
    return (m + m.T).tocsr(), lcm


def max_relative_error(m: sp.csr_matrix, exact: sp.csr_matrix, lcm: int) -> float:
    """Largest |x − n/L| / (n/L) over the cells (both matrices have the same non-zeros)."""
    m, exact = m.tocsr(), exact.tocsr()
    m.sort_indices()
    exact.sort_indices()
    assert np.array_equal(m.indptr, exact.indptr) and np.array_equal(m.indices, exact.indices)
    truth = exact.data.astype(np.float64) / lcm
    return float(np.max(np.abs(m.data - truth) / truth))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--source", required=True)
    ap.add_argument("--format", default="wikiextractor")
    ap.add_argument("--tokenizer", default="text8")
    ap.add_argument("--window", type=int, default=10)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--shards", type=int, default=2)
    ap.add_argument("--max-memory-mb", type=int, default=1024)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument(
        "--reuse-corpus",
        action="store_true",
        help="reuse the shards and vocabulary already in --workdir (time counting only)",
    )
    args = ap.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-text-"))
    py = [sys.executable, "-m", "pipeline", "text"]
    corpus_cfg = json.dumps(
        {
            "language": "en",
            "format": args.format,
            "tokenizer": args.tokenizer,
            "shards": args.shards,
        }
    )
    cooc_cfg = json.dumps(
        {"window": args.window, "max_memory_mb": args.max_memory_mb, "device": "cpu"}
    )
    record = {
        "load_average_before": os.getloadavg(),
        "machine": f"{platform.node()} ({platform.processor() or platform.machine()}), "
        f"{len(os.sched_getaffinity(0))} cores",
        "commit": git_state()[0][:10],
        "date": time.strftime("%Y-%m-%d"),
        "args": vars(args),
    }

    if args.reuse_corpus and not args.workdir:
        ap.error("--reuse-corpus needs --workdir")
    if not args.reuse_corpus:
        record["prepare"] = timed(
            [
                *py,
                "prepare-corpus",
                "--config",
                corpus_cfg,
                "--source",
                args.source,
                "--shards-dir",
                str(work / "shards"),
                "--types",
                str(work / "types.parquet"),
                "--stats",
                str(work / "stats.json"),
                "--threads",
                "2",
            ]
        )
    stats = json.loads((work / "stats.json").read_text())
    record["corpus"] = stats
    if not args.reuse_corpus:
        record["prepare"]["tokens_per_s"] = round(stats["tokens"] / record["prepare"]["wall_s"])
        record["vocab"] = timed(
            [
                *py,
                "build-vocabulary",
                "--config",
                json.dumps({"min_count": args.min_count}),
                "--types",
                str(work / "types.parquet"),
                "--output",
                str(work / "vocab.parquet"),
            ]
        )
    for weighting in ("unit", "harmonic"):
        parts = [work / f"{weighting}-part-{k}.csr" for k in range(args.shards)]
        count = parallel(
            [
                [
                    *py,
                    "count-cooccurrences",
                    "--config",
                    cooc_cfg,
                    "--weighting",
                    weighting,
                    "--shard",
                    str(work / "shards" / f"shard-{k}.parquet"),
                    "--types",
                    str(work / "types.parquet"),
                    "--vocab",
                    str(work / "vocab.parquet"),
                    "--output",
                    str(p),
                ]
                for k, p in enumerate(parts)
            ]
        )
        merge = timed(
            [
                *py,
                "merge-cooccurrences",
                "--config",
                cooc_cfg,
                "--vocab",
                str(work / "vocab.parquet"),
                "--parts",
                *map(str, parts),
                "--output",
                str(work / f"{weighting}.parquet"),
                "--stats",
                str(work / f"{weighting}.stats.json"),
            ]
        )
        cstats = json.loads((work / f"{weighting}.stats.json").read_text())
        record[weighting] = {
            "count": count,
            "merge": merge,
            "count_plus_merge_s": round(count["wall_s"] + merge["wall_s"], 2),
            "nnz": cstats["nnz"],
            "offdiagonal_total": cstats["offdiagonal_total"],
        }

    vocab = pq.read_table(work / "vocab.parquet", columns=["id", "type_id"])
    n_types = pq.ParquetFile(work / "types.parquet").metadata.num_rows
    mapping, size = type_to_vocab_map(vocab, n_types), vocab.num_rows
    streams = [
        in_vocabulary_stream(*read_shard(work / "shards" / f"shard-{k}.parquet"), mapping)
        for k in range(args.shards)
    ]
    # One stream with shard-distinct document ids, for the peer count.
    ids = np.concatenate([s[0] for s in streams])
    doc = np.concatenate([s[1].astype(np.int64) + k * (1 << 31) for k, s in enumerate(streams)])
    record["in_vocabulary_tokens"] = int(len(ids))
    if not args.skip_peer:
        for weighting in ("unit", "harmonic"):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            start = time.perf_counter()
            peer = peer_per_offset_count(ids, doc, size, args.window, weighting)
            wall = time.perf_counter() - start
            ours = pq.read_table(work / f"{weighting}.parquet", columns=["i", "j", "x"])
            mine = sp.csr_matrix(
                (ours["x"].to_numpy(), (ours["i"].to_numpy(), ours["j"].to_numpy())),
                shape=(size, size),
            )
            diff = abs(mine - peer)
            record[weighting]["peer_wall_s"] = round(wall, 2)
            record[weighting]["peer_peak_rss_mb_at_least"] = round(
                max(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
            )
            record[weighting]["ratio_ours_over_peer"] = round(
                record[weighting]["count_plus_merge_s"] / wall, 2
            )
            rel = (diff.max() if diff.nnz else 0.0) / abs(peer).max()
            record[weighting]["max_relative_difference_to_peer"] = float(rel)
            record[weighting]["same_nonzeros_as_peer"] = bool(mine.nnz == peer.nnz)
            if weighting == "unit":  # integers in float64: both exact
                record[weighting]["equal_to_peer"] = bool(mine.nnz == peer.nnz and rel == 0.0)
            else:  # sums of 1/d in different orders: compare both with the exact rational counts
                exact, lcm = exact_harmonic_count(ids, doc, size, args.window)
                record[weighting]["max_relative_error_vs_exact"] = {
                    "ours": max_relative_error(mine, exact, lcm),
                    "peer": max_relative_error(peer, exact, lcm),
                }
                del exact
            del peer, mine, diff
    record["load_average_after"] = os.getloadavg()
    print(json.dumps(record, indent=2))
    (work / "benchmark.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
