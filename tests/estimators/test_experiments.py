"""The E2.1-E2.4 run functions on small samples: rows in the one schema, only declared metrics,
the schema's defaults equal to the dataclasses', and bad config rejected naming the key."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline import tables
from pipeline.__main__ import main
from pipeline.estimators import experiments, vae_experiments

REPO = Path(__file__).resolve().parents[2]
SMALL = {
    experiments.gumbel_max: experiments.GumbelMaxConfig(sizes=(2, 5), n_samples=10_000),
    experiments.gumbel_softmax: experiments.GumbelSoftmaxConfig(n_samples=10_000, chunk=4_000),
    experiments.continuous_gradients: experiments.ContinuousConfig(
        n_samples=5_000, omegas=(1.0, 4.0, 16.0)
    ),
    experiments.discrete_gradients: experiments.DiscreteConfig(n_samples=5_000),
}


def declared_results() -> dict[str, dict[str, list[str]]]:
    """What estimators.smk declares, by executing its declaration block with stand-ins."""
    text = (REPO / "workflow/rules/estimators.smk").read_text()
    block = text[text.index("# ---- results tables") : text.index("FINAL_OUTPUTS.extend")]
    declared = {}
    namespace = {"EST_SEEDS": [0], "RESULTS_TABLES": declared,
                 "EST_DVAE": {"digits": {"variants": {"gumbel": {}}, "evaluate": {"iwae_k": 100}}},
                 "declare_results": lambda path, produces: declared.__setitem__(path, produces)}  # fmt: skip
    exec(block, namespace)  # noqa: S102 - our own rules file
    return declared


@pytest.fixture(scope="module")
def small_runs() -> pd.DataFrame:
    return pd.concat([run(cfg, 0) for run, cfg in SMALL.items()], ignore_index=True)


def test_rows_are_in_the_one_schema_and_declared(small_runs):
    frame = tables.validate(small_runs)
    frame = pd.concat([frame, experiments.ks_of_pvalues(frame)], ignore_index=True)
    declared = declared_results()["results/estimators/results.parquet"]
    pairs = set(zip(frame.experiment, frame.metric, strict=True))
    allowed = {(e, m) for e, metrics in declared.items() for m in metrics}
    assert pairs <= allowed, sorted(pairs - allowed)
    assert {e for e, _ in pairs} == {"E2.1", "E2.2", "E2.3", "E2.4"}


def test_dvae_rows_are_declared():
    declared = declared_results()
    epochs = {"tau", "test_neg_elbo", "test_neg_elbo_hard", "train_seconds", "engine_images_per_s"}
    assert epochs <= set(declared["results/estimators/digits/dvae/gumbel/epochs.parquet"]["E2.5"])
    final = {
        "neg_iwae_k100",
        "neg_elbo_iwae_images",
        "test_neg_elbo_hard",
        "confident_share",
        "frechet_distance",
    }
    assert final <= set(declared["results/estimators/digits/dvae/metrics.parquet"]["E2.5"])


def test_study_results_hold_the_posts_claims_at_small_n(small_runs):
    r = small_runs.set_index(["experiment", "dataset", "method", "metric"]).value
    assert r["E2.1"].xs("integral_max_rel_error", level="metric").max() < 1e-8
    assert r[("E2.2", "k5", "all_taus", "mean_max_increases_as_tau_falls")] == 1.0
    assert r[("E2.2", "k5", "tau0.01", "mean_max")] > 0.99
    assert r[
        ("E2.3", "sin(omega z)", "reparameterization", "log_variance_slope_in_omega")
    ] == pytest.approx(2, abs=0.2)
    assert abs(r[("E2.3", "sin(omega z)", "score_function", "log_variance_slope_in_omega")]) < 0.3
    assert r[("E2.4", "squared_distance", "gumbel_softmax_tau1", "relative_bias")] > \
        r[("E2.4", "squared_distance", "gumbel_softmax_tau0.5", "relative_bias")]  # fmt: skip


def test_same_seed_same_rows():
    cfg = SMALL[experiments.discrete_gradients]
    pd.testing.assert_frame_equal(
        experiments.discrete_gradients(cfg, 4), experiments.discrete_gradients(cfg, 4)
    )


def test_ks_flags_too_regular_p_values():
    rows = pd.DataFrame({"experiment": "E2.1", "dataset": "x", "method": "gumbel_max", "implementation": "ours",
                         "seed": range(30), "step": -1, "metric": "chi2_pvalue", "value": 0.5})  # fmt: skip
    ks = experiments.ks_of_pvalues(rows).set_index("metric").value
    assert ks["ks_pvalue_of_chi2_pvalues"] < 1e-6


def _schema_default(schema: dict, path: str) -> dict:
    """The defaults of one sub-section: ``a.b`` through ``properties``, or ``$defs.name``."""
    node = schema
    if path.startswith("$defs."):
        node = schema["$defs"][path.removeprefix("$defs.")]
    else:
        for key in path.split("."):
            node = node["properties"][key]
    return {k: v["default"] for k, v in node["properties"].items()}


@pytest.mark.parametrize("sections", [experiments.CONFIG_SECTIONS, vae_experiments.CONFIG_SECTIONS])
def test_schema_defaults_equal_dataclass_defaults(sections):
    schema = yaml.safe_load((REPO / "workflow/schemas/estimators.schema.yaml").read_text())
    for path, cls in sections.items():
        defaults = _schema_default(schema, path)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        assert set(defaults) <= set(fields), path
        for key, value in defaults.items():
            field = fields[key]
            if dataclasses.is_dataclass(field.type) or key in ("model", "train"):
                continue
            ours = (
                field.default_factory() if field.default is dataclasses.MISSING else field.default
            )
            ours = list(ours) if isinstance(ours, tuple) else ours
            assert ours == value, f"{path}.{key}: schema {value!r}, dataclass {ours!r}"


@pytest.mark.parametrize("cls, cfg, key", [
    (experiments.GumbelMaxConfig, {"n_samples": 0}, "estimators.gumbel_max.n_samples"),
    (experiments.GumbelSoftmaxConfig, {"probabilities": [0.5, 0.6]}, "estimators.gumbel_softmax.probabilities"),
    (experiments.GumbelSoftmaxConfig, {"probabilities": [1.5, -0.5]}, "estimators.gumbel_softmax.probabilities"),
    (experiments.GumbelSoftmaxConfig, {"taus": [1.0, 0.0]}, "estimators.gumbel_softmax.taus"),
    (experiments.DiscreteConfig, {"st_tau": -1.0}, "estimators.discrete.st_tau"),
    (experiments.ContinuousConfig, {"n_samples": 0}, "estimators.continuous.n_samples"),
])  # fmt: skip
def test_bad_config_names_the_key(cls, cfg, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        cls(**cfg)


def test_cli_bad_tau_exits_2_naming_the_key(tmp_path, capsys):
    out = tmp_path / "x.parquet"
    code = main(["estimators", "gumbel-softmax", "--config", json.dumps({"taus": [1.0, -0.5]}),
                 "--seed", "0", "--output", str(out)])  # fmt: skip
    assert code == 2 and not out.exists()
    assert "estimators.gumbel_softmax.taus" in capsys.readouterr().err


def test_cli_writes_results_with_provenance(tmp_path):
    out = tmp_path / "seed0.parquet"
    cfg = {"n_samples": 2000, "omegas": [2.0, 8.0]}
    assert main(["estimators", "continuous-gradients", "--config", json.dumps(cfg), "--seed", "0",
                 "--output", str(out)]) == 0  # fmt: skip
    frame = tables.read_results(out)
    assert (frame.experiment == "E2.3").all() and np.isfinite(frame.value).all()
