"""Real snakemake runs: no-op reruns, params and code changes rerun exactly what they should."""

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipeline.io import read_provenance
from tests.workflow.conftest import parse_job_stats, text_config

pytestmark = pytest.mark.slow

ALL_TEXT = {
    "text_prepare_corpus": 1,
    "text_build_vocabulary": 1,
    "text_count_cooccurrences": 4,
    "text_merge_cooccurrences": 2,
    "text_report_corpus": 1,
}
COUNTING_AND_DOWNSTREAM = {
    "text_count_cooccurrences": 4,
    "text_merge_cooccurrences": 2,
    "text_report_corpus": 1,
}


def test_full_run_then_nothing_to_do(workflow):
    assert workflow.planned_jobs() == ALL_TEXT
    workflow.run()
    assert workflow.planned_jobs() == {}
    proc = workflow.run()
    assert "Nothing to be done" in proc.stdout + proc.stderr
    prov = read_provenance(workflow.root / "results/text/tiny/cooccur/unit.parquet")
    assert set(prov) >= {
        "git_commit",
        "git_dirty",
        "config_hash",
        "inputs_sha256",
        "library_versions",
        "device",
    }
    assert prov["device"] == "cpu"
    assert "scikit-learn" in prov["library_versions"] and "torch" in prov["library_versions"]


def test_window_change_reruns_counting_and_downstream_only(workflow):
    workflow.run()
    workflow.write_config(text_config("corpus.txt", window=4))
    assert workflow.planned_jobs() == COUNTING_AND_DOWNSTREAM
    workflow.run()
    assert pq.read_table(workflow.root / "results/text/tiny/cooccur/unit.parquet").num_rows > 0
    assert workflow.planned_jobs() == {}


def test_module_edits_rerun_exactly_their_rules(workflow):
    workflow.run()
    with open(workflow.root / "pipeline/text/stats.py", "a") as f:
        f.write("\n# an edit\n")
    assert workflow.planned_jobs() == {"text_report_corpus": 1}
    workflow.run()
    with open(workflow.root / "pipeline/text/cooccur.py", "a") as f:
        f.write("\n# an edit\n")
    assert workflow.planned_jobs() == COUNTING_AND_DOWNSTREAM
    workflow.run()
    with open(workflow.root / "pipeline/text/vocab.py", "a") as f:
        f.write("\n# an edit\n")
    assert workflow.planned_jobs() == {
        k: v for k, v in ALL_TEXT.items() if k != "text_prepare_corpus"
    }


def test_touching_a_module_without_editing_it_reruns_nothing(workflow):
    workflow.run()
    (workflow.root / "pipeline/text/cooccur.py").touch()
    assert workflow.planned_jobs() == {}


def test_report_is_generated(workflow):
    workflow.run()
    proc = workflow.run("--report", "report.html")
    html = (workflow.root / "report.html").read_text()
    assert proc.returncode == 0 and "zipf.png" in html and "Corpus tiny" in html


def test_unknown_config_key_is_rejected_before_the_dag(workflow):
    cfg = text_config("corpus.txt")
    cfg["text"]["corpora"]["tiny"]["cooccur"]["windw"] = 3
    workflow.write_config(cfg)
    proc = workflow.run("--dry-run", check=False)
    out = proc.stdout + proc.stderr
    assert (
        proc.returncode != 0 and "text.corpora.tiny.cooccur.windw: unknown key (allowed at" in out
    )


def test_malformed_config_value_names_the_key(workflow):
    cfg = text_config("corpus.txt", window=0)
    workflow.write_config(cfg)
    proc = workflow.run("--dry-run", check=False)
    out = proc.stdout + proc.stderr
    assert (
        proc.returncode != 0
        and "text.corpora.tiny.cooccur.window = 0: expected a value in [1, 65535]" in out
    )


def test_unknown_top_level_section_is_rejected(workflow):
    workflow.write_config({"txt": {}})
    proc = workflow.run("--dry-run", check=False)
    assert (
        proc.returncode != 0 and "txt: unknown key (allowed at config:" in proc.stdout + proc.stderr
    )


IMAGE_TARGETS = [
    "results/images/tiny/vqvae/train_log.parquet",
    "results/images/tiny/data_summary.parquet",
]
TINY_IMAGES = {
    "images": {
        "datasets": {
            "tiny": {
                "data": {"format": "sklearn_digits", "max_train": 200, "max_test": 40},
                "vqvae": {
                    "model": {
                        "hidden": 8,
                        "res_hidden": 4,
                        "n_res": 1,
                        "codebook_size": 8,
                        "code_dim": 4,
                    },
                    "train": {"steps": 4, "batch_size": 32, "log_every": 2, "device": "cpu"},
                },
            }
        }
    }
}


def test_a_new_model_module_reruns_nothing_that_exists(workflow):
    """Each image rule lists only the modules it runs: a new model, or an edit to a model the
    target does not use, leaves finished image results alone; editing the engine reruns them."""
    workflow.write_config(text_config("corpus.txt") | TINY_IMAGES)

    def planned():
        return parse_job_stats(workflow.run("--dry-run", targets=IMAGE_TARGETS).stdout)

    workflow.run(targets=IMAGE_TARGETS)
    assert planned() == {}
    (workflow.root / "pipeline/images/brand_new_model.py").write_text('"""A new model."""\n')
    assert planned() == {}
    with open(workflow.root / "pipeline/images/classifier.py", "a") as f:
        f.write("\n# an edit to a model the VQ-VAE does not use\n")
    assert planned() == {}
    with open(workflow.root / "pipeline/images/vqvae.py", "a") as f:
        f.write("\n# an edit\n")
    assert planned() == {"images_train_vqvae": 1}
    with open(workflow.root / "pipeline/engine/loop.py", "a") as f:
        f.write("\n# an edit\n")
    assert planned() == {"images_train_vqvae": 1}


def test_a_rebuilt_venv_does_not_rerun_the_default_corpus(workflow):
    """The default corpus ships inside gensim: a reinstall gives it a new mtime, not new content
    (its sha256 is pinned in config/config.yaml), so nothing reruns."""
    import os

    import yaml

    from tests.workflow.conftest import REPO

    default = yaml.safe_load((REPO / "config/config.yaml").read_text())["text"]
    workflow.write_config({"text": default})
    target = ["results/text/enwiki-sample/types.parquet"]
    workflow.run(targets=target)
    spec = __import__("importlib").util.find_spec("gensim")
    source = (
        Path(spec.submodule_search_locations[0])
        / "test/test_data"
        / default["corpora"]["enwiki-sample"]["gensim_data"]
    )
    before = source.stat()
    try:
        os.utime(source, (before.st_atime + 3600, before.st_mtime + 3600))  # "reinstalled"
        assert parse_job_stats(workflow.run("--dry-run", targets=target).stdout) == {}
    finally:
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
