"""The checklist runs on small configs: their verdict-bearing values, their declared metrics,
config defaults, and bad config through the CLI (exit 2, naming the key)."""

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from pipeline.cli import load_section, run_main
from pipeline.transport import cli, experiments
from pipeline.transport.wgan_runs import WganImagesConfig, WganToyConfig, wgan_images, wgan_toy

ROOT = Path(__file__).resolve().parents[2]


def declared() -> dict[str, set[str]]:
    """The (experiment -> metrics) declared for results/transport/results.parquet in transport.smk."""
    text = (ROOT / "workflow/rules/transport.smk").read_text()
    body = re.search(
        r'declare_results\(\s*"results/transport/results.parquet",\s*(\{.*?\n    \}),\s*\)',
        text,
        re.S,
    )
    return {k: set(v) for k, v in ast.literal_eval(body.group(1)).items()}


def check_declared(frame):
    allowed = declared()
    pairs = set(zip(frame["experiment"], frame["metric"], strict=True))
    assert all(m in allowed.get(e, ()) for e, m in pairs), pairs - {
        (e, m) for e in allowed for m in allowed[e]
    }


def test_lp_duality_small():
    frame = experiments.lp_duality(experiments.LPDualityConfig(sizes=(6, 12), instances=1), seed=0)
    check_declared(frame)
    gaps = frame[frame["metric"].str.endswith("_rel")]
    assert gaps["value"].max() < 1e-7
    assert set(gaps["implementation"]) == {"ours", "pot", "scipy"}


def test_farkas_weak_duality_restriction_small():
    fk = experiments.farkas(experiments.FarkasConfig(sizes=(4,), instances=2), seed=0)
    wd = experiments.weak_duality(experiments.WeakDualityConfig(n=10, samples=50), seed=0)
    rs = experiments.restriction(
        experiments.RestrictionConfig(sizes=(8,), dims=(2,), instances=2), seed=0
    )
    for frame in (fk, wd, rs):
        check_declared(frame)
    assert fk[fk["metric"] == "correct_alternative"]["value"].min() == 1.0
    assert wd[wd["metric"] == "gap_rel"]["value"].min() >= -1e-9
    metric = rs[(rs["method"] == "rho1") & (rs["metric"] == "restricted_gap_rel")]["value"]
    assert np.abs(metric).max() < 1e-7
    squared = rs[
        (rs["dataset"] == "line3") & (rs["method"] == "rho2") & (rs["implementation"] == "ours")
    ]
    wide = dict(zip(squared["metric"], squared["value"], strict=True))
    assert wide["restricted_dual"] == pytest.approx(2.0) and wide["full_dual"] == pytest.approx(4.0)


def test_critic_study_small():
    cfg = experiments.CriticsConfig(n_samples=300, steps=30, width=16, batch_size=64)
    frame = experiments.critic_study(cfg, seed=0)
    check_declared(frame)
    truth = frame[(frame["method"] == "truth")]["value"].iloc[0]
    assert truth == pytest.approx(np.hypot(1.0, 0.5))
    assert set(frame["method"]) == {"truth", "emd", "floor", "clip", "gp", "sn"}


def test_wgan_toy_and_images_small(digits):
    toy = WganToyConfig(steps=4, eval_every=2, eval_samples=64, width=16, depth=2, batch_size=32)
    frame, samples, held = wgan_toy(toy, "8gaussians", "gp", seed=0)
    check_declared(frame)
    assert samples.shape == (2000, 2) and held.shape == (64, 2)
    assert sorted(set(frame[frame["metric"] == "w1_exact"]["step"])) == [0, 2, 4]

    from pipeline.images.classifier import Classifier, ClassifierConfig

    img = WganImagesConfig(
        steps=2, eval_every=1, eval_samples=50, width=4, z_dim=8, batch_size=16, device="cpu"
    )
    frame, samples = wgan_images(
        img,
        digits,
        "digits",
        Classifier(ClassifierConfig(width=8, feature_dim=16)),
        "author",
        seed=0,
    )
    check_declared(frame)
    assert samples.shape == (64, 1, 8, 8)
    assert {
        "frechet_distance_final",
        "frechet_distance_floor",
        "spearman_estimate_vs_quality",
    } <= set(frame["metric"])


def test_schema_defaults_equal_dataclass_defaults():
    schema = yaml.safe_load((ROOT / "workflow/schemas/transport.schema.yaml").read_text())

    def resolve(node):
        return {**schema["$defs"][node["$ref"].split("/")[-1]], **node} if "$ref" in node else node

    def defaults(node):
        out = {}
        for k, v in resolve(node).get("properties", {}).items():
            v = resolve(v)
            out[k] = (
                defaults(v) if v.get("type") == "object" and "properties" in v else v["default"]
            )
        return out

    filled = defaults(schema)
    for key, cls in experiments.CONFIG_SECTIONS.items():
        section = filled
        for part in key.split("."):
            section = section[part]
        assert load_section(cls, json.dumps(section), key) == cls(), key


@pytest.mark.parametrize(
    "verb,config,key",
    [
        ("critics", {"gp_weight": -1.0}, "gp_weight"),
        ("lp-duality", {"sizes": [0]}, "transport.lp.sizes"),
        ("farkas", {"mass_ratio": 1.0}, "transport.farkas.mass_ratio"),
        ("wgan-toy", {"gp": {"n_critic": 0}}, "transport.wgan_toy.gp.n_critic"),
        ("wgan-toy", {"gp": {"gp_weight": -2}}, "transport.wgan_toy.gp.gp_weight"),
    ],
)
def test_bad_config_exits_2_naming_the_key(verb, config, key, tmp_path, capsys):
    argv = [
        verb,
        "--config",
        json.dumps(config),
        "--seed",
        "0",
        "--output",
        str(tmp_path / "x.parquet"),
    ]
    if verb == "wgan-toy":
        argv += ["--dataset", "8gaussians", "--variant", "gp", "--samples", str(tmp_path / "s.npz")]
    assert run_main(cli.register, "transport", argv) == 2
    assert key in capsys.readouterr().err


def test_figures_draw_from_a_small_results_table(digits):
    import matplotlib.pyplot as plt
    import pandas as pd

    from pipeline.transport import figures

    frames = [
        experiments.lp_duality(experiments.LPDualityConfig(sizes=(5,), instances=1), seed=0),
        experiments.weak_duality(experiments.WeakDualityConfig(n=6, samples=20), seed=0),
        experiments.restriction(
            experiments.RestrictionConfig(sizes=(5,), dims=(1,), instances=1), 0
        ),
        experiments.critic_study(
            experiments.CriticsConfig(n_samples=100, steps=5, width=8, batch_size=32), seed=0
        ),
    ]
    toy = WganToyConfig(steps=2, eval_every=1, eval_samples=32, width=8, depth=1, batch_size=16)
    toy_frame, samples, held = wgan_toy(toy, "25gaussians", "clip", seed=0)
    frame = pd.concat(frames + [toy_frame], ignore_index=True)
    for name, fn in figures.FIGURES.items():
        assert isinstance(fn(frame), plt.Figure), name
    fig = figures.toy_samples(frame, {"25gaussians/clip": samples, "25gaussians/data": held})
    assert isinstance(fig, plt.Figure)
    plt.close("all")
