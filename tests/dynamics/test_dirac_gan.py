"""E4.4: the Dirac-GAN vector fields, the integrator, the verdicts and the divergence guard."""

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from pipeline.dynamics import dirac_gan as dg
from pipeline.dynamics import experiments

STATE0 = np.array([0.1, 0.2, 0.2, 0.1])


def test_wgan_matches_its_closed_form():
    # d phi/dt = -theta, d theta/dt = phi: theta(t) = theta0 cos t + phi0 sin t (a rotation)
    t, s = dg.integrate(dg.vector_field("wgan"), STATE0, 20.0, 201)
    theta = np.outer(np.cos(t), STATE0[2:]) + np.outer(np.sin(t), STATE0[:2])
    np.testing.assert_allclose(s[:, 2:], theta, atol=1e-6)


def test_ns_gan_field_by_hand():
    phi, theta = np.array([0.3, -0.1]), np.array([0.2, 0.5])
    u = phi @ theta
    sig = 1.0 / (1.0 + np.exp(-u))
    out = dg.vector_field("ns_gan")(0.0, np.concatenate([phi, theta]))
    np.testing.assert_allclose(out, np.concatenate([-sig * theta, (1 - sig) * phi]), rtol=1e-12)


def test_energy_never_grows_for_the_gan_losses():
    # d/dt (|phi|^2 + |theta|^2) / 2 = -u tanh(u/2) (ns_gan), -u^2 / (lambda |theta|) (gan_qp)
    for variant in ("ns_gan", "gan_qp"):
        _, s = dg.integrate(dg.vector_field(variant), STATE0, 50.0, 501)
        energy = (s**2).sum(1)
        assert np.all(np.diff(energy) <= 1e-9 * energy[0]), variant


def test_default_run_gives_the_posts_verdicts():
    frame, paths = experiments.dirac_gan(experiments.DiracGanConfig())
    v = frame.set_index(["method", "metric"])["value"]
    for method in ("ode", "discrete"):
        for orbit in ("ns_gan", "wgan", "gan_qp"):
            assert v[(f"{orbit}/{method}", "theta_norm_tail_min")] > 0.05  # does not go to 0
            assert v[(f"{orbit}/{method}", "ema_to_final_ratio")] < 0.5  # EMA nearer the centre
        assert v[(f"wgan_gp0/{method}", "theta_norm_tail_max")] < 1e-3  # converges
        assert abs(v[(f"wgan_gp1/{method}", "theta_norm_tail_mean")] - 1.0) < 0.01  # a circle
    assert len(paths) == 10 and all(np.isfinite(p.theta).all() for p in paths)


def test_ema_path_is_the_bias_corrected_average():
    x = np.random.default_rng(0).normal(size=(50, 2))
    a = 0.9
    out = dg.ema_path(x, a)
    w = (1 - a) * a ** np.arange(49, -1, -1)
    np.testing.assert_allclose(out[-1], w @ x / (1 - a**50), rtol=1e-12)
    np.testing.assert_allclose(out[0], x[0])


def test_a_diverging_step_size_is_a_clear_error():
    cfg = experiments.DiracGanConfig(variants=("wgan",), step_size=0.5)
    with pytest.raises(
        dg.DivergenceError, match=r"wgan simulated gradient.*diverged.*lower the step size"
    ):
        experiments.dirac_gan(cfg)


def test_the_ode_guard_stops_at_max_norm():
    cfg = experiments.DiracGanConfig(variants=("wgan_gp1",), max_norm=0.5)
    with pytest.raises(dg.DivergenceError, match=r"wgan_gp1 ODE diverged.*max_norm 0.5"):
        experiments.dirac_gan(cfg)


@pytest.mark.parametrize("change, key", [
    ({"gp_weight": -1.0}, "dynamics.dirac_gan.gp_weight"),
    ({"ema_decay": 1.0}, "dynamics.dirac_gan.ema_decay"),
    ({"variants": ("gan",)}, "dynamics.dirac_gan.variants"),
    ({"t_end": -5.0}, "dynamics.dirac_gan.t_end"),
    ({"theta0": (0.1,)}, "dynamics.dirac_gan.phi0 / theta0"),
])  # fmt: skip
def test_bad_config_names_the_key(change, key):
    with pytest.raises(ValueError, match=key):
        dataclasses.replace(experiments.DiracGanConfig(), **change)


def test_cli_exits_2_and_draws_nothing_when_a_path_diverges(tmp_path):
    figure = tmp_path / "norms.png"
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "dynamics", "dirac-gan", "--config",
         '{"variants": ["wgan"], "step_size": 0.5, "t_end": 50}', "--output", str(tmp_path / "t.parquet"),
         "--norms", str(figure), "--phase", str(tmp_path / "phase.png")],
        capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2
    assert "DivergenceError" in proc.stderr and "Traceback" not in proc.stderr
    assert not figure.exists()
