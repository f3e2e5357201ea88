"""The EBM base on the shared engine: buffer as unaveraged extra state, the guards, bad inputs."""

import dataclasses

import numpy as np
import pytest
import torch

from pipeline.energy.image_ebm import EBMTrainConfig, ImageEBMSection, train_image_ebm
from pipeline.energy.toy import ToyEBM, ToyEBMConfig, ToyLangevin, ToyRecipe, toy_data
from pipeline.engine import ArrayDataset, TrainConfig, Trainer, load_checkpoint, load_model
from pipeline.images.ebm import ImageEBM, ImageEBMConfig, ImageLangevin, ImageRecipe
from pipeline.io import DataError

FAST = TrainConfig(
    steps=3, batch_size=16, lr=1e-3, beta1=0.0, device="cpu", log_every=1, checkpoint_every=1
)


def tiny_toy(**recipe) -> ToyEBM:
    torch.manual_seed(0)
    return ToyEBM(ToyEBMConfig(hidden=8, ebm=ToyRecipe(langevin=ToyLangevin(steps=3), **recipe)))


def test_buffer_is_checkpointed_and_never_averaged(tmp_path):
    data = toy_data("8gaussians", 64, np.random.default_rng(0)).astype(np.float32)
    model = tiny_toy(buffer_capacity=40)
    Trainer(FAST, tmp_path, 1).fit(model, ArrayDataset(data))
    assert len(model.buffer) == 40  # 3 steps x 16 chains, capacity 40
    ckpt = load_checkpoint(tmp_path / "last.pt")
    saved = ckpt["model"]["_extra_state"]["buffer"]["data"]
    torch.testing.assert_close(saved, model.buffer.data)
    restored, _ = load_model(tmp_path / "last.pt", ToyEBM, ema=True)  # EMA weights, raw buffer
    torch.testing.assert_close(restored.buffer.data, model.buffer.data)


def test_no_replay_leaves_the_buffer_empty():
    data = toy_data("checkerboard", 64, np.random.default_rng(0)).astype(np.float32)
    model = tiny_toy(replay=False)
    Trainer(FAST, None, 1).fit(model, ArrayDataset(data))
    assert len(model.buffer) == 0 and len(model.history) == 3


def test_energy_network_returning_a_vector_per_sample():
    class Bad(ToyEBM):
        def energy(self, x):
            return self.net(x).repeat(1, 3)

    torch.manual_seed(0)
    model = Bad(ToyEBMConfig(hidden=8, ebm=ToyRecipe(langevin=ToyLangevin(steps=2))))
    data = toy_data("2spirals", 32, np.random.default_rng(0)).astype(np.float32)
    with pytest.raises(ValueError, match="expected one scalar per sample"):
        Trainer(FAST, None, 1).fit(model, ArrayDataset(data))


def test_nan_energies_stop_training_naming_the_step():
    class Nan(ToyEBM):
        def energy(self, x):
            e = super().energy(x)
            return e * float("nan") if len(self.history) == 1 else e

    torch.manual_seed(0)
    model = Nan(ToyEBMConfig(hidden=8, ebm=ToyRecipe(langevin=ToyLangevin(steps=2))))
    data = toy_data("8gaussians", 32, np.random.default_rng(0)).astype(np.float32)
    with pytest.raises(ValueError, match=r"NaN or Inf at Langevin step 0 \(training step 1\)"):
        Trainer(FAST, None, 1).fit(model, ArrayDataset(data))


def tiny_section(**train) -> ImageEBMSection:
    recipe = ImageRecipe(langevin=ImageLangevin(steps=2))
    return ImageEBMSection(
        model=ImageEBMConfig(width=4, n_blocks=1, ebm=recipe),
        train=EBMTrainConfig(
            **{"steps": 2, "batch_size": 8, "device": "cpu", "checkpoint_every": 1, **train}
        ),
    )


def test_image_ebm_trains_and_writes_a_checkpoint(tmp_path, digits):
    out = tmp_path / "model.pt"
    rows, diverged = train_image_ebm(tiny_section(), digits, 3, out, lambda d: {"device": d})
    assert diverged == -1 and {"abs_energy", "cd", "loss"} <= {r["metric"] for r in rows}
    model, ckpt = load_model(out, ImageEBM, ema=False)
    assert ckpt["train_config"]["seed"] == 3 and len(model.buffer) == 16
    x = model.sample(5, steps=2)
    assert x.shape == (5, 1, 8, 8) and 0 <= x.min() and x.max() <= 1


def test_image_ebm_divergence_keeps_the_last_checkpoint(tmp_path, digits):
    # a guard that the first step passes and the second trips: keep step 1's checkpoint
    section = tiny_section(steps=3)
    model_cfg = dataclasses.replace(
        section.model, ebm=dataclasses.replace(section.model.ebm, max_gap=1e-12)
    )
    with pytest.raises(ValueError, match="no checkpoint was written before step 0"):
        train_image_ebm(
            dataclasses.replace(section, model=model_cfg),
            digits,
            0,
            tmp_path / "m.pt",
            lambda d: {},
        )


def test_dataset_smaller_than_the_batch(tmp_path, digits):
    small = dataclasses.replace(digits, x_train=digits.x_train[:5], y_train=digits.y_train[:5])
    with pytest.raises(DataError, match=r"5 images, fewer than .*train\.batch_size 8"):
        train_image_ebm(tiny_section(), small, 0, tmp_path / "m.pt", lambda d: {})


def test_joint_samples_share_one_buffer():
    from pipeline.energy.ebm import joint_samples

    models = [tiny_toy(buffer_capacity=20), tiny_toy(buffer_capacity=20)]
    models[0].buffer.push(torch.full((20, 2), 0.25))
    models[1].buffer.push(torch.full((20, 2), 0.75))
    x = joint_samples(models, 30, rounds=1, generator=torch.Generator().manual_seed(0))
    assert x.shape == (30, 2) and ((x >= 0) & (x <= 1)).all()


def test_evaluate_rows_per_source(tmp_path, digits):
    from pipeline.energy.image_ebm import EBMEvaluateConfig, evaluate_image_ebm
    from pipeline.engine.run import train_to_checkpoint
    from pipeline.images.classifier import Classifier, ClassifierConfig
    from pipeline.images.loader import ImageDataset

    torch.manual_seed(0)
    clf = tmp_path / "clf.pt"
    train_to_checkpoint(
        Classifier(ClassifierConfig(width=4, feature_dim=8)),
        TrainConfig(steps=1, batch_size=16, device="cpu"),
        ImageDataset(digits.x_train, digits.y_train),
        clf,
        lambda d: {},
    )
    paths = []
    for seed in (0, 1):
        paths.append(tmp_path / f"m{seed}.pt")
        train_image_ebm(tiny_section(), digits, seed, paths[-1], lambda d: {})
    cfg = EBMEvaluateConfig(
        n_samples=20, fresh_steps=2, joint=True, joint_rounds=1, batch_size=10, device="cpu"
    )
    rows, arrays = evaluate_image_ebm(
        cfg, digits, [str(p) for p in paths], str(clf), torch.device("cpu")
    )
    got = {(r["method"], r["metric"]) for r in rows}
    for method in ("buffer", "fresh", "joint", "uniform-noise", "real-train"):
        assert (method, "frechet_distance") in got
    assert {r["seed"] for r in rows if r["method"] == "buffer"} == {0, 1}
    assert arrays["joint"].dtype == np.uint8 and arrays["seed1/fresh"].shape[1:] == (8, 8, 1)
