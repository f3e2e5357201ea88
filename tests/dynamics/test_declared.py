"""Every (experiment, metric) a dynamics table holds is declared in workflow/rules/dynamics.smk."""

import ast
import re
from pathlib import Path

import numpy as np

from pipeline.dynamics import experiments
from pipeline.images.datasets import ImageSet

SMK = Path(__file__).resolve().parents[2] / "workflow" / "rules" / "dynamics.smk"


def declared() -> set[tuple[str, str]]:
    text = SMK.read_text()
    pairs = set()
    for block in re.findall(
        r"declare_results\(\s*\"[^\"]+\",\s*(\{.*?\}),?\s*\)\n", text, flags=re.S
    ):
        for exp, metrics in ast.literal_eval(block).items():
            pairs |= {(exp, m) for m in metrics}
    ema = re.search(r"DYN_EMA_METRICS = (\[.*?\])", text, flags=re.S).group(1)
    return pairs | {("E4.3", m) for m in ast.literal_eval(ema)}


def _pairs(frame):
    return set(zip(frame.experiment, frame.metric, strict=True))


def test_tables_hold_only_declared_metrics():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=80)
    x = (rng.random((80, 4, 4, 1)) * 100 + 100 * y[:, None, None, None]).astype(np.uint8)
    data = ImageSet(x[:60], y[:60], x[60:], y[60:], ["0", "1"])
    found = set()
    found |= _pairs(
        experiments.dirac_gan(experiments.DiracGanConfig(t_end=5.0, n_eval=51, step_size=0.01))[0]
    )
    found |= _pairs(
        experiments.intermediate_variables(
            experiments.IntermediateConfig(hidden=(8,), steps=2, batch_size=8, n_check=8), data
        )
    )
    found |= _pairs(
        experiments.ema_semantics(
            experiments.EmaSemanticsConfig(hidden=(8,), steps=2, batch_size=8, scalar_length=10),
            data,
        )
    )
    found |= _pairs(
        experiments.ema_benefit(
            experiments.EmaBenefitConfig(hidden=(8,), epochs=2, batch_size=16, device="cpu"),
            data,
            seed=0,
        )
    )
    assert found <= declared(), sorted(found - declared())
    assert {e for e, _ in found} == {"E4.1", "E4.2", "E4.3", "E4.4"}
