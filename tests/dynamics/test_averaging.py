"""E4.2 and E4.3: EMA semantics through the engine, and the per-epoch comparison."""

import copy

import numpy as np
import pytest
import torch

from pipeline.dynamics import averaging, experiments
from pipeline.engine import TrainConfig, Trainer
from pipeline.images.datasets import ImageSet
from pipeline.images.loader import ImageDataset
from pipeline.images.mlp import MLP, MLPConfig


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    x = (rng.random((n, 4, 4, 1)) * 60 + y[:, None, None, None] * 60).astype(np.uint8)
    return ImageSet(x[:90], y[:90], x[90:], y[90:], ["0", "1", "2"])


def test_shadow_equals_the_bias_corrected_closed_form():
    values = np.random.default_rng(0).normal(size=300)
    for decay in (0.0, 0.9, 0.999):
        np.testing.assert_allclose(
            averaging.engine_shadow(values, decay),
            averaging.closed_form_ema(values, decay),
            atol=1e-12,
        )


def test_closed_form_by_hand():
    # a = 0.5 on (1, 3): (0.5 * 1 * 0.5 + 0.5 * 3) / (1 - 0.25) = 2.333...
    np.testing.assert_allclose(averaging.closed_form_ema([1.0, 3.0], 0.5), [1.0, 1.75 / 0.75])


def test_raw_weights_bit_identical_with_and_without_ema():
    data = _data()
    torch.manual_seed(0)
    model = MLP(MLPConfig(in_features=16, hidden=(8,), n_classes=3, dropout=0.3))
    cfg = TrainConfig(
        steps=15,
        batch_size=16,
        ema_decay=(0.9, 0.99),
        device="cpu",
        log_every=15,
        checkpoint_every=15,
    )
    ds = ImageDataset(data.x_train, data.y_train)
    with_ema = Trainer(cfg).fit(copy.deepcopy(model), ds)
    bare = averaging.train_without_ema(model, cfg, ds)
    assert averaging.max_weight_difference(with_ema.model, bare) == 0.0
    assert averaging.max_weight_difference(with_ema.emas[0.9], with_ema.model) > 0.0


def test_ema_benefit_rows_and_curve_summary(tmp_path):
    cfg = experiments.EmaBenefitConfig(
        epochs=3, batch_size=16, hidden=(8,), last_epochs=2, device="cpu"
    )
    frame = experiments.ema_benefit(cfg, _data(), seed=0)
    curves = frame[frame.metric == "test_accuracy"]
    assert set(curves.method) == {"none", "ema_0.999", "ema_0.9999"} and set(curves.step) == {
        1,
        2,
        3,
    }
    none = curves[curves.method == "none"].sort_values("step").value.to_numpy()
    final = frame[(frame.step == -1) & (frame.method == "none")].set_index("metric").value
    assert final["final_accuracy"] == none[-1]
    assert final["last_epochs_std"] == pytest.approx(np.std(none[-2:], ddof=1))


def test_curve_summary_by_hand():
    s = averaging.curve_summary({"none": [0.5, 0.7, 0.6], "ema_0.9": [0.5, 0.6, 0.65]}, last=2)
    assert s["ema_0.9"]["final_gain_over_none"] == pytest.approx(0.05)
    assert s["ema_0.9"]["std_ratio_to_none"] == pytest.approx(0.05 / 0.1)


@pytest.mark.parametrize("change, key", [
    ({"ema_decays": (0.999, 1.0)}, "dynamics.ema_benefit.ema_decays"),
    ({"ema_decays": (-0.1,)}, "dynamics.ema_benefit.ema_decays"),
    ({"epochs": -3}, "dynamics.ema_benefit.epochs"),
    ({"model": "vgg"}, "dynamics.ema_benefit.model"),
])  # fmt: skip
def test_bad_ema_benefit_config_names_the_key(change, key):
    with pytest.raises(ValueError, match=key):
        experiments.EmaBenefitConfig(**change)


def test_bad_ema_semantics_decay_names_the_key():
    with pytest.raises(
        ValueError, match=r"dynamics.ema_semantics.ema_decays: EMA decay 1.5 not in \[0, 1\)"
    ):
        experiments.EmaSemanticsConfig(ema_decays=(1.5,))


def test_cifar10_config_is_the_authors_setting():
    cfg = experiments.cifar10_ema_benefit("check")
    assert (cfg.dataset, cfg.model, cfg.depth, cfg.width, cfg.lr, cfg.batch_size) == (
        "cifar10",
        "resnet",
        20,
        16,
        1e-3,
        128,
    )
    assert cfg.ema_decays == (0.999, 0.9999) and cfg.augment and cfg.epochs == 30
    assert experiments.cifar10_ema_benefit("smoke").epochs == 2
    with pytest.raises(ValueError, match="size"):
        experiments.cifar10_ema_benefit("huge")
