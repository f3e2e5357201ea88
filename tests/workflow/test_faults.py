"""The standing fault suite (issue 17): every kind of bad input the project knows, fed through the
real ``snakemake`` on tiny configs.

For each input the suite checks the documented outcome: a clear error (the job, or the config
validation, fails; the console names the file or key with the package's one-line message; no new
file appears at any output path; outputs of an earlier run stay byte-identical), or, for the few
inputs that are documented to be counted and continued (a local mirror without sha256, a few
undecodable bytes under the bound, malformed lines in an evaluation file), a success that says so.

Runs are batched to keep the suite small: all bad corpora and image sources go through ONE
``snakemake --keep-going`` call (each is its own corpus or dataset name, so each fails in its own
job), the config faults are dry runs (validation happens before the DAG is built), and the
evaluation-file faults rerun only the evaluation job. ``test_count_table`` prints the counts:
inputs tried, clear errors, counted-and-continued, unclear errors and silent successes (0).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import re
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.workflow.conftest import copy_workflow, write_corpus

pytestmark = pytest.mark.slow

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
GOOD_TEXT = "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n" * 20


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _zip(data: bytes, name: str = "text8") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, data)
    return buf.getvalue()


def _random(n: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _png(value: int, size: int = 8) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((size, size), value, dtype=np.uint8), mode="L").save(buf, format="PNG")
    return buf.getvalue()


@dataclass
class Case:
    """One bad input. ``kind``: text (a corpus), images (a dataset), config (a dry run) or
    evaluation (an evaluation file). ``expect``: regex the console must match; ``outcome``:
    ``error`` or ``continued``."""

    name: str
    kind: str
    what: str
    expect: str
    outcome: str = "error"
    files: dict = field(default_factory=dict)  # relative path -> bytes
    entry: dict = field(default_factory=dict)  # the corpus / dataset config, or a config overlay
    target: str = "types.parquet"


def text_case(
    name,
    what,
    filename,
    data,
    expect,
    fmt="plain",
    outcome="error",
    target="types.parquet",
    **extra,
):
    entry = {
        "format": fmt,
        "tokenizer": "text8",
        "local_mirror": f"inputs/{filename}",
        "shards": 1,
        "vocab": {"min_count": 1},
        **extra,
    }
    return Case(name, "text", what, expect, outcome, {f"inputs/{filename}": data}, entry, target)


def image_case(name, what, files, expect, fmt="npz", outcome="error", **data):
    entry = {
        "data": {
            "format": fmt,
            "local_mirror": f"inputs/{name}",
            "test_fraction": 0.25,
            "files": {"source": next(iter(files))} if fmt == "npz" else {"source": "."},
            **data,
        }
    }
    return Case(
        name,
        "images",
        what,
        expect,
        outcome,
        {f"inputs/{name}/{k}": v for k, v in files.items()},
        entry,
        "data.npz",
    )


def config_case(name, what, overlay, expect, target="results/text/good/cooccur/unit.parquet"):
    return Case(name, "config", what, expect, entry=overlay, target=target)


GOOD = GOOD_TEXT.encode()


def _two_member_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.txt", GOOD)
        z.writestr("b.txt", GOOD)
    return buf.getvalue()


TEXT_CASES = [
    text_case(
        "bz2_truncated",
        "truncated bz2",
        "trunc.txt.bz2",
        _truncated(bz2.compress(GOOD * 50)),
        r"trunc\.txt\.bz2: corrupt or truncated file",
    ),
    text_case(
        "gz_truncated",
        "truncated gzip",
        "trunc.txt.gz",
        _truncated(gzip.compress(GOOD * 50)),
        r"trunc\.txt\.gz: corrupt or truncated file",
    ),
    text_case(
        "xz_truncated",
        "truncated xz",
        "trunc.txt.xz",
        _truncated(lzma.compress(GOOD * 50)),
        r"trunc\.txt\.xz: corrupt or truncated file",
    ),
    text_case(
        "zip_truncated",
        "truncated zip (text8)",
        "text8.zip",
        _truncated(_zip(GOOD.replace(b"\n", b" ") * 50)),
        r"text8\.zip: corrupt or truncated file",
        fmt="text8",
    ),
    text_case(
        "zip_two_members",
        "zip with two files",
        "two.zip",
        _two_member_zip(),
        r"two\.zip: expected a zip with one file, found 2",
        fmt="text8",
    ),
    text_case(
        "random_bytes",
        "random bytes",
        "random.txt",
        _random(20_000),
        r"random\.txt: \d+ undecodable and \d+ NUL bytes of 20000 \(\d+\.\d%\) exceed "
        r"text\.corpora\.random_bytes\.max_bad_byte_fraction = 0\.01",
    ),
    text_case(
        "utf16_bom",
        "UTF-16 with byte-order mark",
        "utf16.txt",
        GOOD_TEXT.encode("utf-16"),
        r"utf16\.txt: starts with a UTF-16LE byte-order mark",
    ),
    text_case(
        "utf32_bom",
        "UTF-32 with byte-order mark",
        "utf32.txt.gz",
        gzip.compress(GOOD_TEXT.encode("utf-32")),
        r"utf32\.txt\.gz: starts with a UTF-32LE byte-order mark",
    ),
    text_case(
        "utf16_nobom",
        "UTF-16 without byte-order mark",
        "wide.txt",
        GOOD_TEXT.encode("utf-16-be"),
        r"wide\.txt: \d+ NUL bytes .* exceed text\.corpora\.utf16_nobom\.max_bad_byte_fraction",
    ),
    text_case(
        "gb18030",
        "GB18030 text read as UTF-8",
        "zh.txt",
        ("中文的语料库，不是统一码。\n" * 200).encode("gb18030"),
        r"zh\.txt: \d+ undecodable and 0 NUL bytes of \d+ \(\d+\.\d%\) exceed",
    ),
    text_case("empty_file", "empty file", "empty.txt", b"", r"input '[^']*empty\.txt' is empty"),
    text_case(
        "punctuation",
        "punctuation only",
        "punct.txt",
        b"!!! ??? ...\n--- ,,, ;;;\n",
        r"punct\.txt: the corpus produced no tokens: all 2 document\(s\) were empty after the text8 tokeniser",
    ),
    text_case(
        "blank_lines",
        "blank lines only",
        "blank.txt",
        b"\n \n\t\n",
        r"blank\.txt: the corpus produced no tokens: no non-blank line found",
    ),
    text_case(
        "no_doc_blocks",
        "WikiExtractor format without <doc> blocks",
        "wiki_00",
        GOOD,
        r"wiki_00: the corpus produced no tokens: no <doc \.\.\.> \.\.\. </doc> block found",
        fmt="wikiextractor",
    ),
    text_case(
        "tsv_no_tabs",
        "TSV without tabs",
        "docs.tsv",
        GOOD,
        r"docs\.tsv: the corpus produced no tokens: no id<TAB>text line found",
        fmt="tsv",
    ),
    text_case(
        "wrong_checksum",
        "wrong sha256",
        "sum.txt",
        GOOD,
        r"checksum mismatch for '[^']*sum\.txt': config key sha256 of the corpus source expects 0{64}",
        sha256="0" * 64,
    ),
    text_case(
        "empty_vocabulary",
        "empty vocabulary (min_count above every count)",
        "vocab.txt",
        GOOD,
        r"vocab\.min_count=1000000",
        target="vocab.parquet",
        vocab={"min_count": 1000000},
    ),
    # Documented to be counted and continued:
    text_case(
        "no_sha256",
        "local mirror without sha256",
        "nosha.txt",
        GOOD,
        r"text\.corpora\.no_sha256\.local_mirror 'inputs/nosha\.txt' has no sha256",
        outcome="continued",
    ),
    text_case(
        "few_bad_bytes",
        "0.1 % undecodable bytes (under the bound)",
        "few.txt",
        GOOD * 10 + b"caf\xe9 \xff\n",
        r"replaced_bytes",
        outcome="continued",
    ),
]


_X = np.random.default_rng(0).integers(0, 256, (12, 8, 8), dtype=np.uint8)
IMAGE_CASES = [
    image_case(
        "npz_truncated",
        "truncated npz",
        {"d.npz": _truncated(_npz(images=_X, labels=np.arange(12) % 3))},
        r"d\.npz': not a readable npz",
    ),
    image_case(
        "npz_random",
        "random bytes as npz",
        {"r.npz": _random(5000)},
        r"r\.npz': not a readable npz",
    ),
    image_case(
        "npz_wrong_arrays",
        "npz without image arrays",
        {"w.npz": _npz(foo=_X)},
        r"w\.npz': expected arrays x_train and x_test, or images; got \['foo'\]",
    ),
    Case(
        "idx_wrong_magic",
        "images",
        "IDX files with a wrong magic number",
        r"train-images\.gz': wrong IDX magic",
        files={
            f"inputs/idx_wrong_magic/{n}": gzip.compress(_random(400, seed=k))
            for k, n in enumerate(
                ["train-images.gz", "train-labels.gz", "test-images.gz", "test-labels.gz"]
            )
        },
        entry={
            "data": {
                "format": "idx",
                "local_mirror": "inputs/idx_wrong_magic",
                "files": {
                    "train_images": "train-images.gz",
                    "train_labels": "train-labels.gz",
                    "test_images": "test-images.gz",
                    "test_labels": "test-labels.gz",
                },
            }
        },
        target="data.npz",
    ),
    image_case(
        "png_truncated",
        "truncated PNG in an image folder",
        {
            "a/0.png": _png(10),
            "a/1.png": _png(20),
            "b/2.png": _png(30),
            "b/3.png": _truncated(_png(40, 32)),
        },
        r"3\.png: cannot decode image",
        fmt="images",
    ),
    image_case(
        "png_not_image",
        "text file named .png",
        {"a/0.png": _png(10), "b/1.png": b"not a png at all"},
        r"1\.png: cannot decode image",
        fmt="images",
    ),
]

CONFIG_CASES = [
    config_case(
        "unknown_key",
        "unknown key",
        {"text": {"corpora": {"good": {"vocab": {"min_cont": 3}}}}},
        r"text\.corpora\.good\.vocab\.min_cont: unknown key \(allowed at text\.corpora\.good\.vocab: max_size, min_count\)",
    ),
    config_case(
        "wrong_type",
        "wrong type",
        {"vectors": {"simpler_glove": {"dim": "abc"}}},
        r"vectors\.simpler_glove\.dim = 'abc': expected integer",
    ),
    config_case(
        "out_of_range",
        "out of range",
        {"text": {"corpora": {"good": {"cooccur": {"window": 0}}}}},
        r"text\.corpora\.good\.cooccur\.window = 0: expected a value in \[1, 65535\]",
    ),
    config_case(
        "bad_enum",
        "value not among the choices",
        {"images": {"datasets": {"digits": {"data": {"format": "png"}}}}},
        r"images\.datasets\.digits\.data\.format = 'png': expected one of sklearn_digits, idx",
    ),
    config_case(
        "empty_list",
        "empty list",
        {"text": {"corpora": {"good": {"cooccur": {"weightings": []}}}}},
        r"text\.corpora\.good\.cooccur\.weightings = \[\]: expected at least 1 item",
    ),
    config_case(
        "bad_checksum_format",
        "malformed sha256",
        {"text": {"corpora": {"good": {"sha256": "xyz"}}}},
        r"text\.corpora\.good\.sha256 = 'xyz': expected a string matching",
    ),
    config_case(
        "unknown_section",
        "unknown top-level section",
        {"txet": {"corpora": {}}},
        r"txet: unknown key \(allowed at config: .*text",
    ),
    config_case(
        "section_not_a_map",
        "section of the wrong type",
        {"em": [1, 2]},
        r"em = \[1, 2\]: expected object",
    ),
    config_case(
        "corpus_without_source",
        "corpus without a source (no local_mirror, gensim_data or url)",
        {"text": {"corpora": {"nosrc": {"format": "plain"}}}},
        r"text\.corpora\.nosrc: set one of local_mirror, gensim_data or url",
        target="results/text/nosrc/types.parquet",
    ),
    config_case(
        "dangling_corpus",
        "vectors.corpus naming no corpus",
        {"vectors": {"corpus": "nothere"}},
        r"vectors\.corpus: 'nothere' is not a name under text\.corpora",
    ),
    config_case(
        "missing_mirror",
        "local mirror that does not exist",
        {"text": {"corpora": {"ghost": {"local_mirror": "inputs/nowhere.txt"}}}},
        r"(?s)Missing input files for rule text_prepare_corpus:.*inputs/nowhere\.txt",
        target="results/text/ghost/types.parquet",
    ),
    # Snakemake reads --configfile before the workflow runs; its message does not name the file
    # (the command line does: one --configfile).
    config_case(
        "yaml_syntax",
        "config file that is not YAML",
        "text: {corpora: [unclosed\n",
        r"Config file is not valid JSON or YAML",
    ),
]

EVAL_CASES = [
    Case(
        "analogy_gb18030",
        "evaluation",
        "analogy file in GB18030",
        r"evaluation file '[^']*analogy_gb18030\.txt' is not UTF-8: byte 0x.. at offset \d+ \(line 1\)",
        files={"inputs/analogy_gb18030.txt": ": 首都\nthe cat sat mat\n".encode("gb18030")},
        entry={"analogies": [{"name": "a", "path": "inputs/analogy_gb18030.txt"}]},
    ),
    Case(
        "similarity_utf16",
        "evaluation",
        "similarity file in UTF-16",
        r"evaluation file '[^']*similarity_utf16\.txt': starts with a UTF-16LE byte-order mark",
        files={"inputs/similarity_utf16.txt": "cat\tdog\t7.0\n".encode("utf-16")},
        entry={"similarity": [{"name": "s", "path": "inputs/similarity_utf16.txt"}]},
    ),
    Case(
        "similarity_random",
        "evaluation",
        "similarity file of random bytes",
        r"evaluation file '[^']*similarity_random\.txt'",
        files={"inputs/similarity_random.txt": _random(3000, seed=1)},
        entry={"similarity": [{"name": "s", "path": "inputs/similarity_random.txt"}]},
    ),
    Case(
        "similarity_empty",
        "evaluation",
        "empty similarity file",
        r"evaluation file '[^']*similarity_empty\.txt' is empty",
        files={"inputs/similarity_empty.txt": b""},
        entry={"similarity": [{"name": "s", "path": "inputs/similarity_empty.txt"}]},
    ),
    Case(
        "analogy_malformed_lines",
        "evaluation",
        "analogy file with malformed lines (counted)",
        r"m: 2 malformed line\(s\) counted and left out",
        outcome="continued",
        files={
            "inputs/analogy_malformed.txt": b": s\nw0 w1 w2 w3\nnot a question\nw1 w2\nw2 w1 w4 w3\n"
        },
        entry={"analogies": [{"name": "m", "path": "inputs/analogy_malformed.txt"}]},
    ),
]

ALL_CASES = TEXT_CASES + IMAGE_CASES + CONFIG_CASES + EVAL_CASES


def _snakemake(root: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    cmd = [*SNAKEMAKE, *args, "--cores", "2", "--configfile", "test-config.yaml"]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)


def _write(root: Path, files: dict) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under results/, logs and benchmarks aside."""
    out = {}
    for path in sorted((root / "results").rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(("results/logs/", "results/benchmarks/")):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _base_config() -> dict:
    good = {
        "format": "plain",
        "tokenizer": "text8",
        "local_mirror": "inputs/good.txt",
        "shards": 1,
        "vocab": {"min_count": 1},
        "cooccur": {"window": 2, "weightings": ["unit"]},
        "sha256": hashlib.sha256(GOOD).hexdigest(),
    }
    return {"text": {"corpora": {"good": good}}}


def _error_lines(console: str) -> list[str]:
    return [line for line in console.splitlines() if " ERROR " in line or "DataError" in line]


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    """Run every case; return {case name: (console, ok, details)} plus the run bookkeeping."""
    root = copy_workflow(tmp_path_factory.mktemp("faults") / "wf")
    _write(root, {"inputs/good.txt": GOOD})
    results = {}
    started = time.monotonic()

    # 1. An earlier, complete run whose outputs must survive everything below untouched.
    base = _base_config()
    (root / "test-config.yaml").write_text(yaml.safe_dump(base))
    proc = _snakemake(root, "results/text/good/types.parquet", "results/text/good/vocab.parquet")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    before = _snapshot(root)

    print(f"fault suite: . Every bad... at {time.monotonic() - started:.0f} s")
    # 2. Every bad corpus and image source in one call; each is its own job.
    cfg = _base_config()
    images = {"datasets": {}}
    for case in TEXT_CASES + IMAGE_CASES:
        _write(root, case.files)
        if case.kind == "text":
            cfg["text"]["corpora"][case.name] = case.entry
        else:
            images["datasets"][case.name] = case.entry
    cfg["images"] = images
    (root / "test-config.yaml").write_text(yaml.safe_dump(cfg))
    targets = [
        f"results/{'text' if c.kind == 'text' else 'images'}/{c.name}/{c.target}"
        for c in TEXT_CASES + IMAGE_CASES
    ]
    proc = _snakemake(root, *targets, "--keep-going")
    console = proc.stdout + proc.stderr
    after = _snapshot(root)
    for case in TEXT_CASES + IMAGE_CASES:
        domain = "text" if case.kind == "text" else "images"
        # The outputs of the failing job (for the empty vocabulary, the vocabulary only: the corpus
        # preparation before it succeeds, as it should).
        prefix = f"results/{domain}/{case.name}/" + (
            "vocab" if case.target == "vocab.parquet" else ""
        )
        written = sorted(p for p in set(after) - set(before) if p.startswith(prefix))
        log_dir = "text_prepare_corpus" if case.kind == "text" else "images_prepare_dataset"
        if case.target == "vocab.parquet":
            log_dir = "text_build_vocabulary"
        log = root / "results/logs" / log_dir / f"{case.name}.log"
        log_text = log.read_text() if log.exists() else ""
        results[case.name] = {
            "console": console,
            "log": log_text,
            "written": written,
            "done": (root / f"results/{domain}/{case.name}/{case.target}").exists(),
            "rc": proc.returncode,
        }
    results["_untouched"] = {k: v for k, v in before.items() if after.get(k) != v}
    stats = root / "results/text/few_bad_bytes/corpus_stats.json"
    results["few_bad_bytes"]["log"] += stats.read_text() if stats.exists() else ""

    print(f"fault suite: . Config faults... at {time.monotonic() - started:.0f} s")
    # 3. Config faults: each a dry run, refused before the DAG is built (or, for a missing
    # mirror, when the DAG is).
    for case in CONFIG_CASES:
        text = (
            case.entry
            if isinstance(case.entry, str)
            else yaml.safe_dump(_merge(_base_config(), case.entry))
        )
        (root / "test-config.yaml").write_text(text)
        proc = _snakemake(root, case.target, "-n")
        results[case.name] = {
            "console": proc.stdout + proc.stderr,
            "rc": proc.returncode,
            "written": [],
            "done": False,
        }

    print(f"fault suite: . Evaluation file... at {time.monotonic() - started:.0f} s")
    # 4. Evaluation files: a tiny word2vec (skip-gram) model, then one evaluation job per file.
    eval_cfg = _base_config()
    _write(
        root,
        {
            "inputs/eval_corpus.txt": write_corpus(
                root / "inputs/eval_corpus.txt", 150, 30
            ).read_bytes()
        },
    )
    eval_cfg["text"]["corpora"]["good"].update(
        local_mirror="inputs/eval_corpus.txt",
        tokenizer="whitespace",
        sha256=hashlib.sha256((root / "inputs/eval_corpus.txt").read_bytes()).hexdigest(),
    )
    eval_cfg["vectors"] = {
        "corpus": "good",
        "methods": ["sg"],
        "threads": 1,
        "gensim": {"dim": 8, "epochs": 1},
    }
    target = "results/vectors/good/sg/intrinsic.parquet"
    for case in EVAL_CASES:
        _write(root, case.files)
        evaluate = {"analogies": [], "similarity": [], **case.entry}
        (root / "test-config.yaml").write_text(
            yaml.safe_dump(_merge(eval_cfg, {"vectors": {"evaluate": evaluate}}))
        )
        before_eval = _snapshot(root)
        proc = _snakemake(root, target)
        log = root / "results/logs/vectors_evaluate/good/sg.log"
        after_eval = _snapshot(root)
        results[case.name] = {
            "console": proc.stdout + proc.stderr,
            "rc": proc.returncode,
            "log": log.read_text() if log.exists() else "",
            "written": [target]
            if after_eval.get(target) != before_eval.get(target)
            and case.outcome == "error"
            and (root / target).exists()
            else [],
            "done": proc.returncode == 0,
        }
    print(f"fault suite: all runs done in {time.monotonic() - started:.0f} s")
    return results


def _merge(base: dict, overlay: dict) -> dict:
    out = dict(base)
    for k, v in overlay.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def classify(case: Case, r: dict) -> str:
    """clear | continued | silent success | unclear error | wrong outcome."""
    matched = re.search(
        case.expect, r["console"] + ("\n" + r.get("log", "") if case.outcome == "continued" else "")
    )
    if case.outcome == "continued":
        return "continued" if r["done"] and matched else "wrong outcome"
    if r["done"] or r["written"]:
        return "silent success"
    if r["rc"] == 0:
        return "silent success"
    return "clear" if matched else "unclear error"


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.name for c in ALL_CASES])
def test_fault(suite, case):
    r = suite[case.name]
    verdict = classify(case, r)
    expected = "continued" if case.outcome == "continued" else "clear"
    errors = "\n".join(_error_lines(r["console"])[-15:])
    assert verdict == expected, (
        f"{case.what}: {verdict}\n--- error lines:\n{errors}\n--- tail:\n{r['console'][-2500:]}"
    )
    if case.outcome == "error":
        assert not r["written"], f"{case.what}: files appeared at output paths: {r['written']}"


def test_earlier_outputs_untouched(suite):
    assert suite["_untouched"] == {}


def test_no_sha256_prints_the_hash_to_pin(suite):
    assert re.search(
        r"inputs/nosha\.txt has sha256 [0-9a-f]{64}; set it", suite["no_sha256"]["log"]
    )


def test_count_table(suite):
    rows = {}
    for case in ALL_CASES:
        verdict = classify(case, suite[case.name])
        rows.setdefault(case.kind, {}).setdefault(verdict, 0)
        rows[case.kind][verdict] += 1
    columns = ["clear", "continued", "unclear error", "wrong outcome", "silent success"]
    lines = [f"{'kind':<12}{'tried':>7}" + "".join(f"{c:>16}" for c in columns)]
    total = {c: 0 for c in columns}
    for kind, counts in rows.items():
        lines.append(
            f"{kind:<12}{sum(counts.values()):>7}"
            + "".join(f"{counts.get(c, 0):>16}" for c in columns)
        )
        for c in columns:
            total[c] += counts.get(c, 0)
    lines.append(f"{'all':<12}{len(ALL_CASES):>7}" + "".join(f"{total[c]:>16}" for c in columns))
    print("\nfault suite (issue 17):\n" + "\n".join(lines))
    assert total["silent success"] == 0
