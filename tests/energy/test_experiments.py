"""The run functions at tiny sizes: rows in the one schema, within what energy.smk declares;
bad configs name their dotted key; the CLI exits with status 2 on them."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.cli import load_section
from pipeline.energy import experiments as ex
from pipeline.energy.image_ebm import ImageEBMSection
from pipeline.energy.toy import (
    ToyEBMConfig,
    ToyLangevin,
    ToyRecipe,
    energy_distance,
    mode_shares,
    ring_centres,
)

REPO = Path(__file__).resolve().parents[2]


def declared() -> dict[str, set[str]]:
    """The (experiment -> metrics) pairs energy.smk declares, by running its declare_results."""
    text = (REPO / "workflow/rules/energy.smk").read_text()
    block = text[text.index("ENERGY_TRAIN_METRICS =") : text.index("FINAL_OUTPUTS.extend")]
    out: dict[str, set[str]] = {}

    def declare_results(path, produces, in_dag=True):
        for k, v in produces.items():
            out.setdefault(k, set()).update(v)

    exec(block, {"declare_results": declare_results, "config": {"images": {"datasets": {}}}})
    return out


def assert_declared(table):
    pairs = declared()
    for (experiment, metric), _ in table.groupby(["experiment", "metric"]):
        assert metric in pairs.get(experiment, ()), (
            f"({experiment}, {metric}) not declared in energy.smk"
        )


def test_langevin_densities_tiny():
    cfg = ex.LangevinDensitiesConfig(seeds=(0, 1), eps=(0.1, 0.05), n_chains=400, steps=40)
    t = ex.langevin_densities(cfg)
    assert_declared(t)
    assert set(t.seed) == {0, 1} and set(t.dataset) == {"gaussian", "double_well", "mixture2d"}
    slope = t[(t.metric == "bias_slope") & (t.dataset == "gaussian")].value
    assert slope.iloc[0] == pytest.approx(
        np.polyfit(np.log([0.05, 0.1]), np.log([0.05 / 3.95, 0.1 / 3.9]), 1)[0]
    )


def test_likelihood_gradient_tiny():
    cfg = ex.LikelihoodGradientConfig(
        seeds=(0,),
        eps=0.01,
        n_chains=500,
        burn_in=100,
        average_steps=50,
        n_data=500,
        iterations=20,
        chain_steps=5,
        average_last=5,
    )
    t = ex.likelihood_gradient(cfg)
    assert_declared(t)
    rel = t[(t.metric == "rel_error_E_x2") & (t.implementation == "ours")].value.iloc[0]
    assert 0 <= rel < 0.2


def test_toy_ebm_tiny_records_all_four_settings():
    cfg = ex.ToyConfig(
        n_train=64,
        n_eval=50,
        model=ToyEBMConfig(hidden=8, ebm=ToyRecipe(langevin=ToyLangevin(steps=2))),
        train=ex.ToyTrainConfig(steps=2, batch_size=16, log_every=1),
    )
    t, arrays = ex.toy_ebm(cfg)
    assert_declared(t)
    assert {s for s, _, _ in ex.TOY_SETTINGS} <= set(t.method)
    assert (t[t.metric == "diverged_at_step"].value == -1).all()
    assert arrays["8gaussians/seed0/buffer/sum-l2/buffer"].shape == (50, 2)


def test_toy_divergence_is_recorded_not_raised():
    cfg = ex.ToyConfig(
        n_train=64,
        n_eval=20,
        train=ex.ToyTrainConfig(steps=3, batch_size=16),
        model=ToyEBMConfig(hidden=8, ebm=ToyRecipe(langevin=ToyLangevin(steps=2), max_gap=1e-12)),
    )
    model, step = ex.train_toy(cfg, np.full((64, 2), 0.5), True, "sum", 0)
    assert step == 0 and model.history == []


def test_toy_metrics_by_hand():
    c = ring_centres()
    assert (mode_shares(np.repeat(c[:2], 5, axis=0)) == [0.5, 0.5, 0, 0, 0, 0, 0, 0]).all()
    a = np.array([[0.0, 0.0], [1.0, 0.0]])
    assert energy_distance(a, a) == pytest.approx(0.0)
    # 2 E|X-Y| - E|X-X'| - E|Y-Y'| with X = {0}, Y = {2}: 2*2 - 0 - 0
    assert energy_distance(np.zeros((1, 1)), np.full((1, 1), 2.0)) == pytest.approx(4.0)


@pytest.mark.parametrize(
    "cls, text, key",
    [
        (ex.LangevinDensitiesConfig, '{"eps": [0.1, 0]}', r"energy\.langevin_densities\.eps"),
        (ex.LangevinDensitiesConfig, '{"steps": 0}', r"energy\.langevin_densities\.steps"),
        (
            ex.LikelihoodGradientConfig,
            '{"theta_star": [1, -1]}',
            r"energy\.likelihood_gradient\.theta_star",
        ),
        (
            ex.ToyConfig,
            '{"model": {"ebm": {"replay_share": 1.5}}}',
            r"energy\.toy\.model\.ebm\.replay_share",
        ),
        (
            ex.ToyConfig,
            '{"model": {"ebm": {"langevin": {"step_size": -1}}}}',
            r"energy\.toy\.model\.ebm\.langevin\.step_size",
        ),
        (
            ImageEBMSection,
            '{"model": {"ebm": {"langevin": {"steps": 0}}}}',
            r"image_ebm\.datasets\.<dataset>\.model\.ebm\.langevin\.steps",
        ),
        (ImageEBMSection, '{"model": {"ebm": {"l2": "diff"}}}', r"model\.ebm\.l2"),
    ],
)
def test_bad_config_names_the_key(cls, text, key):
    with pytest.raises(ValueError, match=key):
        load_section(cls, text)


def test_cli_exit_status_2_on_bad_config(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "energy",
            "langevin-densities",
            "--config",
            '{"eps": [-0.1]}',
            "--output",
            str(tmp_path / "x.parquet"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 2
    assert re.search(r"energy\.langevin_densities\.eps", proc.stderr)
