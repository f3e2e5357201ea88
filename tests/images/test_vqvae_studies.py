"""Post 1's studies (pipeline/images/vqvae_studies.py, pixelcnn.py, the author's architecture):
the identities, PixelCNN causality, the verbs end to end on a tiny config, declared metrics, and
bad ablation grids."""

import ast
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from pipeline import tables
from pipeline.__main__ import main
from pipeline.images import vqvae_studies as studies
from pipeline.images.pixelcnn import GatedPixelCNN, PixelCNNConfig
from pipeline.images.vqvae import VQVAE, VQVAEConfig
from pipeline.validation import ConfigError, validate_section

REPO = Path(__file__).resolve().parents[2]
SMK = REPO / "workflow" / "rules" / "images.smk"
SCHEMA = REPO / "workflow" / "schemas" / "images.schema.yaml"
TRAIN = {
    "steps": 6,
    "batch_size": 32,
    "log_every": 3,
    "checkpoint_every": 6,
    "device": "cpu",
    "ema_decay": 0.9,
}
VQ = {
    "model": {"hidden": 8, "res_hidden": 4, "n_res": 1, "codebook_size": 16, "code_dim": 4},
    "train": TRAIN,
}


def run(*argv) -> int:
    return main(["images", *map(str, argv)])


def declared() -> set[tuple[str, str]]:
    text = SMK.read_text()
    metrics = ast.literal_eval(
        re.search(r"IMAGES_E1_METRICS = (\{.*?\})", text, flags=re.S).group(1)
    )
    ste = re.search(
        r"declare_results\(\s*\"results/images/post1_ste/metrics.parquet\",\s*(\{.*?\}),?\s*\)",
        text,
        flags=re.S,
    ).group(1)
    pairs = {(e, m) for e, ms in metrics.items() for m in ms}
    pairs |= {("E1.1", m) for m in ast.literal_eval(ste)["E1.1"]}
    return pairs | {("E1.5", "codes_changed")}


def test_ste_identities_hold_to_rounding():
    frame = tables.results_frame(
        studies.ste_identities(studies.SteConfig(seeds=(0, 1))),
        experiment="E1.1",
        dataset="synthetic",
        implementation="ours",
    )
    value = frame.groupby(["method", "metric"]).value.max()
    assert value["relu_trick", "max_abs_diff"] == 0.0  # x + (0 - x) and x + 0 are exact
    assert value["sg_split", "grad_max_abs_diff"] == 0.0  # the same ops on the same numbers
    assert value["sg_split", "value_ratio"] == 2.0  # a + a = 2a exactly
    assert value["ste", "forward_max_abs_diff_over_eps"] <= 2.0  # z + (z_q - z) rounds, once
    assert value["ste", "grad_max_abs_diff_over_eps"] <= 16.0
    assert set(zip(frame.experiment, frame.metric, strict=True)) <= declared()


def test_pixelcnn_is_causal_in_raster_order():
    torch.manual_seed(0)
    model = GatedPixelCNN(
        PixelCNNConfig(codebook_size=8, height=4, width=5, channels=8, n_layers=3)
    )
    codes = torch.randint(8, (1, 4, 5))
    base = model(codes)
    reach = set()
    for j in range(20):
        other = codes.clone()
        other.view(-1)[j] = (other.view(-1)[j] + 1) % 8
        changed = ((model(other) - base).abs().amax(-1)[0] > 0).nonzero().flatten().tolist()
        assert all(i > j for i in changed), (j, changed)  # never itself or earlier
        reach |= {(j, i) for i in changed}
    assert (
        (18, 19) in reach and (14, 19) in reach and (13, 19) in reach
    )  # left, above, above-left: no blind spot
    assert model.sample(2, generator=torch.Generator().manual_seed(0)).shape == (2, 4, 5)


def test_author_architecture_shapes_and_default_unchanged():
    cfg = VQVAEConfig(
        in_channels=3,
        hidden=16,
        res_hidden=16,
        n_res=3,
        downsample=2,
        codebook_size=8,
        code_dim=16,
        architecture="author",
    )
    model = VQVAE(cfg)
    out = model(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert out["codes"].shape == (2, 8, 8) and out["x_hat"].shape == (2, 3, 32, 32)
    assert out["x_hat"].abs().max() <= 1.0  # tanh output, as the author's decoder
    # encoder: 2 strided convs + 3 blocks + 2 between; decoder: 3 before blocks + 3 in them + 1 ConvT
    assert (
        sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules()) == 2 + 3 + 2 + 3 + 3 + 1
    )
    # the default architecture builds the same modules as before the option existed
    keys = list(VQVAE(VQVAEConfig()).state_dict())
    assert keys[:3] == ["encoder.0.weight", "encoder.0.bias", "encoder.2.weight"]
    with pytest.raises(ValueError, match="vqvae.model.architecture"):
        VQVAEConfig(architecture="keras")


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"ratios": [0.25, -1.0]}, "images.ablation.ratios[1]"),
        ({"codebooks": ["loss", "kmeans"]}, "images.ablation.codebooks[1]"),
        ({"codebook_sizes": [0]}, "images.ablation.codebook_sizes[0]"),
        ({"seeds": []}, "images.ablation.seeds"),
    ],
)
def test_bad_ablation_grid_is_a_schema_error_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=re.escape(key)):
        validate_section({"ablation": override}, SCHEMA, "images")


def test_bad_ablation_values_raise_naming_the_key():
    with pytest.raises(ValueError, match="images.ablation.ratios"):
        studies.AblationSection(ratios=(0.0,))
    with pytest.raises(ValueError, match="images.ablation.codebooks"):
        studies.AblationSection(codebooks=("kmeans",))
    with pytest.raises(ValueError, match="not in the grid"):
        studies.parse_cell(studies.AblationSection(), "K32_loss")


def test_schema_defaults_equal_the_dataclasses():
    schema = yaml.safe_load(SCHEMA.read_text())
    defs = schema["$defs"]
    for name, cls in (
        ("ste", studies.SteConfig),
        ("ablation", studies.AblationSection),
        ("compare_priors", studies.PriorComparisonConfig),
        ("interpolate", studies.InterpolateConfig),
        ("pixelcnn_model", PixelCNNConfig),
    ):
        for key, prop in defs[name]["properties"].items():
            default = getattr(cls(), key)
            assert prop["default"] == (list(default) if isinstance(default, tuple) else default), (
                name,
                key,
            )
    assert (
        defs["vqvae_model"]["properties"]["architecture"]["default"] == VQVAEConfig().architecture
    )


def test_verbs_end_to_end(tmp_path):
    d = tmp_path
    data = {"format": "sklearn_digits", "max_train": 200, "max_test": 60}
    assert (
        run(
            "prepare-dataset",
            "--config",
            json.dumps(data),
            "--dataset",
            "digits",
            "--output",
            d / "data.npz",
            "--summary",
            d / "summary.parquet",
        )
        == 0
    )
    common = ["--dataset", "digits", "--data", d / "data.npz"]
    assert (
        run(
            "train-vqvae",
            "--config",
            json.dumps(VQ),
            *common,
            "--output",
            d / "vq.pt",
            "--train-log",
            d / "vq.parquet",
            "--activations",
            d / "act.npz",
        )
        == 0
    )
    assert (
        run(
            "train-prior",
            "--config",
            json.dumps({"model": {"n_layer": 1, "n_head": 2, "n_embd": 16}, "train": TRAIN}),
            *common,
            "--vqvae",
            d / "vq.pt",
            "--output",
            d / "prior.pt",
            "--train-log",
            d / "prior.parquet",
        )
        == 0
    )
    assert (
        run(
            "train-pixelcnn",
            "--config",
            json.dumps({"model": {"channels": 8, "n_layers": 2}, "train": TRAIN}),
            *common,
            "--vqvae",
            d / "vq.pt",
            "--output",
            d / "pcnn.pt",
            "--train-log",
            d / "pcnn.parquet",
        )
        == 0
    )
    assert (
        run(
            "compare-priors",
            "--config",
            json.dumps({"n_samples": 4, "device": "cpu"}),
            *common,
            "--vqvae",
            d / "vq.pt",
            "--prior",
            d / "prior.pt",
            "--pixelcnn",
            d / "pcnn.pt",
            "--output",
            d / "priors.parquet",
            "--html",
            d / "priors.html",
            "--figure",
            d / "priors.png",
        )
        == 0
    )
    assert (
        run(
            "interpolate-vqvae",
            "--config",
            json.dumps({"n_pairs": 2, "n_steps": 3}),
            *common,
            "--vqvae",
            d / "vq.pt",
            "--output",
            d / "interp.parquet",
            "--figure",
            d / "interp.png",
        )
        == 0
    )
    ablation = {
        "ratios": [0.25, 4.0],
        "codebook_sizes": [8],
        "codebooks": ["loss", "ema"],
        "seeds": [0],
        "steps": 3,
    }
    for cell in ("K8_loss", "K8_ema"):
        assert (
            run(
                "ablation-vqvae",
                "--config",
                json.dumps(ablation),
                "--base",
                json.dumps(VQ),
                *common,
                "--cell",
                cell,
                "--output",
                d / f"{cell}.parquet",
            )
            == 0
        )
    assert (
        run(
            "ablation-vqvae",
            "--config",
            json.dumps(ablation),
            "--base",
            json.dumps(VQ),
            *common,
            "--cell",
            "K64_loss",
            "--output",
            d / "bad.parquet",
        )
        == 2
    )  # outside the grid
    assert (
        run(
            "plot-ablation",
            "--tables",
            d / "K8_loss.parquet",
            d / "K8_ema.parquet",
            "--cells",
            "K8_loss",
            "K8_ema",
            "--figure",
            d / "ablation.png",
            "--html",
            d / "ablation.html",
        )
        == 0
    )
    assert (
        run("ste-checks", "--config", json.dumps({"seeds": [0]}), "--output", d / "ste.parquet")
        == 0
    )

    frames = {
        p.stem: tables.read_results(p)
        for p in d.glob("*.parquet")
        if p.stem in ("priors", "interp", "K8_loss", "K8_ema", "ste")
    }
    found = set()
    for frame in frames.values():
        found |= set(zip(frame.experiment, frame.metric, strict=True))
    assert found <= declared()
    priors = frames["priors"].set_index(["method", "metric"]).value
    assert set(priors.index.get_level_values(0)) == {
        "attention_prior",
        "attention_prior_ema",
        "pixelcnn_prior",
        "pixelcnn_prior_ema",
    }
    assert (
        np.isfinite(priors["pixelcnn_prior", "prior_bits_per_code"])
        and priors["pixelcnn_prior", "n_parameters"] > 0
    )
    assert set(frames["K8_loss"].method) == {"ratio_0.25_K8_loss", "ratio_4_K8_loss"}
    assert set(frames["K8_ema"].method) == {"ratio_0.25_K8_ema", "ratio_4_K8_ema"}
    interp = frames["interp"]
    assert (interp[interp.step == 0].value == 0).all()  # the left endpoint is itself
    assert (d / "ablation.png").stat().st_size > 0 and (d / "interp.png").stat().st_size > 0
