"""Unlabelled image data (issue 17): an npz without labels prepares, the classifier rule records
that there is no classifier, and the evaluation leaves out only the Fréchet distances; labelled
npz files name their classes; a folder of grey PNGs keeps one channel."""

import io
import json
import logging

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from pipeline.__main__ import main
from pipeline.images import classifier, datasets
from tests.images.test_cli import TINY as _TINY
from tests.images.test_cli import train_and_evaluate

# Fewer steps still: only that every verb runs matters here.
TINY = {
    k: v | {"train": v["train"] | {"steps": 4}} if "train" in v else v for k, v in _TINY.items()
}


def run(*argv) -> int:
    return main(["images", *map(str, argv)])


def _png(array: np.ndarray, mode: str) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, format="PNG")
    return buf.getvalue()


def test_grey_png_folder_keeps_one_channel_and_mixed_folders_become_rgb(tmp_path):
    rng = np.random.default_rng(0)
    for k in range(4):
        (tmp_path / "grey" / f"c{k % 2}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "grey" / f"c{k % 2}" / f"{k}.png").write_bytes(
            _png(rng.integers(0, 256, (6, 6), np.uint8), "L")
        )
    x, labels, _ = datasets.read_images(tmp_path / "grey", None, None)
    assert x.shape == (4, 6, 6, 1) and sorted(set(labels)) == ["c0", "c1"]
    (tmp_path / "grey" / "c0" / "rgb.png").write_bytes(
        _png(rng.integers(0, 256, (6, 6, 3), np.uint8), "RGB")
    )
    x, _, names = datasets.read_images(tmp_path / "grey", None, None)
    assert x.shape == (5, 6, 6, 3)
    grey = names.index("c0/0.png")
    assert (x[grey, ..., 0] == x[grey, ..., 1]).all() and (x[grey, ..., 1] == x[grey, ..., 2]).all()


def test_labelled_npz_names_its_classes_and_unlabelled_says_so(tmp_path, caplog):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 8, 8), np.uint8)
    np.savez(tmp_path / "lab.npz", images=x, labels=np.arange(20) % 3)
    np.savez(tmp_path / "unlab.npz", images=x)
    with caplog.at_level(logging.INFO):
        data, _ = datasets.load_dataset(
            datasets.DataConfig(
                format="npz", local_mirror=str(tmp_path), files={"source": "lab.npz"}, sha256={}
            ),
            tmp_path,
        )
    assert data.classes == ["0", "1", "2"] and "3 classes" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.INFO):
        data, _ = datasets.load_dataset(
            datasets.DataConfig(
                format="npz", local_mirror=str(tmp_path), files={"source": "unlab.npz"}
            ),
            tmp_path,
        )
    assert data.classes == [] and "no labels" in caplog.text and "0 classes" not in caplog.text
    assert "set data.sha256[unlab.npz] to pin it" in caplog.text


@pytest.fixture(scope="module")
def unlabelled_chain(tmp_path_factory):
    d = tmp_path_factory.mktemp("unlabelled")
    rng = np.random.default_rng(0)
    np.savez(d / "src.npz", images=rng.integers(0, 256, (120, 8, 8), np.uint8))
    data = {
        "format": "npz",
        "local_mirror": str(d),
        "files": {"source": "src.npz"},
        "test_fraction": 0.25,
    }
    assert (
        run(
            "prepare-dataset",
            "--config",
            json.dumps(data),
            "--dataset",
            "u",
            "--output",
            d / "data.npz",
            "--summary",
            d / "summary.parquet",
        )
        == 0
    )
    train_and_evaluate(d, "u", TINY)
    return d


def test_unlabelled_data_evaluates_without_the_classifier_metrics(unlabelled_chain):
    d = unlabelled_chain
    assert classifier.load_classifier(d / "clf.pt") is None
    assert len(pd.read_parquet(d / "clf.parquet")) == 0
    table = pd.read_parquet(d / "metrics.parquet")
    assert "frechet_distance" not in set(table.metric)
    got = set(zip(table.method, table.metric, strict=True))
    for weights in ("ema", "raw"):
        assert (f"vqvae_reconstruction_{weights}", "psnr") in got
        assert (f"vqvae_prior_samples_{weights}", "sliced_wasserstein") in got
        assert (f"vqvae_prior_samples_{weights}", "bits_per_dim") in got
    assert ("real_train_vs_test", "sliced_wasserstein") in got
    assert np.isfinite(table.value).all()
