# Images domain: dataset -> classifier (features for Frechet distances) and VQ-VAE -> code prior
# -> evaluation -> figures (see pipeline/images/). One folder per dataset: results/images/{dataset}/.
IMAGES = config["images"]
# Each rule lists only the modules it runs (a new model module reruns nothing that exists).
IMAGES_CODE = [
    "images/__init__.py",
    "images/cli.py",
    "images/datasets.py",
    "images/loader.py",
]
IMAGES_TRAIN_CODE = IMAGES_CODE + ENGINE_CODE
IMAGES_LIBS = lib_versions("torch", "numpy", "scipy", "pillow", "pot", "scikit-learn")


def get_images_section(wc, *keys):
    """One dataset's sub-section, as the canonical JSON string a rule passes to its verb."""
    section = IMAGES["datasets"][wc.dataset]
    for key in keys:
        section = section[key]
    return canon(section)


def get_images_gpu(wc, key):
    """resources: gpu=1 only when the config asks for CUDA explicitly."""
    section = IMAGES["datasets"][wc.dataset][key]
    device = section["device"] if key == "evaluate" else section["train"]["device"]
    return int(device == "cuda")


def get_images_sources(wc):
    """The mirror files a dataset reads (so that replacing one reruns the rule)."""
    data = IMAGES["datasets"][wc.dataset]["data"]
    if not data.get("local_mirror"):
        return []
    paths = [
        Path(data["local_mirror"]) / name for name in data.get("files", {}).values()
    ]
    return [str(p) for p in paths if p.is_file()]


# Per rule, not global: other domains may use a {dataset} wildcard of their own.
IMAGES_DATASET = "[A-Za-z0-9][A-Za-z0-9_-]*"


rule images_prepare_dataset:
    input:
        sources=get_images_sources,
        code=pkg_files(*IMAGES_CODE),
    output:
        data="results/images/{dataset}/data.npz",
        summary="results/images/{dataset}/data_summary.parquet",
    log:
        "results/logs/images_prepare_dataset/{dataset}.log",
    benchmark:
        "results/benchmarks/images_prepare_dataset/{dataset}.tsv"
    wildcard_constraints:
        dataset=IMAGES_DATASET,
    threads: 1
    params:
        cfg=lambda wc: get_images_section(wc, "data"),
        versions=IMAGES_LIBS,
    shell:
        "{PY} -m pipeline images prepare-dataset --config {params.cfg:q} --dataset {wildcards.dataset} "
        "--download-dir resources/images/{wildcards.dataset} "
        "--output {output.data} --summary {output.summary} > {log} 2>&1"


rule images_train_classifier:
    input:
        data="results/images/{dataset}/data.npz",
        code=pkg_files(*IMAGES_TRAIN_CODE, "images/classifier.py"),
    output:
        model="results/images/{dataset}/classifier/model.pt",
        log="results/images/{dataset}/classifier/train_log.parquet",
    log:
        "results/logs/images_train_classifier/{dataset}.log",
    benchmark:
        "results/benchmarks/images_train_classifier/{dataset}.tsv"
    wildcard_constraints:
        dataset=IMAGES_DATASET,
    threads: IMAGES["threads"]
    resources:
        gpu=lambda wc: get_images_gpu(wc, "classifier"),
    params:
        cfg=lambda wc: get_images_section(wc, "classifier"),
        versions=IMAGES_LIBS,
    shell:
        "{PY} -m pipeline images train-classifier --config {params.cfg:q} --dataset {wildcards.dataset} "
        "--threads {threads} --data {input.data} --output {output.model} --train-log {output.log} > {log} 2>&1"


rule images_train_vqvae:
    input:
        data="results/images/{dataset}/data.npz",
        code=pkg_files(*IMAGES_TRAIN_CODE, "images/vqvae.py"),
    output:
        model="results/images/{dataset}/vqvae/model.pt",
        log="results/images/{dataset}/vqvae/train_log.parquet",
        activations="results/images/{dataset}/vqvae/activations.npz",
    log:
        "results/logs/images_train_vqvae/{dataset}.log",
    benchmark:
        "results/benchmarks/images_train_vqvae/{dataset}.tsv"
    wildcard_constraints:
        dataset=IMAGES_DATASET,
    threads: IMAGES["threads"]
    resources:
        gpu=lambda wc: get_images_gpu(wc, "vqvae"),
    params:
        cfg=lambda wc: get_images_section(wc, "vqvae"),
        versions=IMAGES_LIBS,
    shell:
        "{PY} -m pipeline images train-vqvae --config {params.cfg:q} --dataset {wildcards.dataset} "
        "--threads {threads} --data {input.data} --output {output.model} --train-log {output.log} "
        "--activations {output.activations} > {log} 2>&1"


rule images_train_prior:
    input:
        data="results/images/{dataset}/data.npz",
        vqvae="results/images/{dataset}/vqvae/model.pt",
        code=pkg_files(*IMAGES_TRAIN_CODE, "images/vqvae.py", "images/prior.py"),
    output:
        model="results/images/{dataset}/prior/model.pt",
        log="results/images/{dataset}/prior/train_log.parquet",
    log:
        "results/logs/images_train_prior/{dataset}.log",
    benchmark:
        "results/benchmarks/images_train_prior/{dataset}.tsv"
    wildcard_constraints:
        dataset=IMAGES_DATASET,
    threads: IMAGES["threads"]
    resources:
        gpu=lambda wc: get_images_gpu(wc, "prior"),
    params:
        cfg=lambda wc: get_images_section(wc, "prior"),
        versions=IMAGES_LIBS,
    shell:
        "{PY} -m pipeline images train-prior --config {params.cfg:q} --dataset {wildcards.dataset} "
        "--threads {threads} --data {input.data} --vqvae {input.vqvae} --output {output.model} "
        "--train-log {output.log} > {log} 2>&1"


rule images_evaluate_vqvae:
    input:
        data="results/images/{dataset}/data.npz",
        vqvae="results/images/{dataset}/vqvae/model.pt",
        prior="results/images/{dataset}/prior/model.pt",
        classifier="results/images/{dataset}/classifier/model.pt",
        code=pkg_files(
            *IMAGES_TRAIN_CODE,
            "images/vqvae.py",
            "images/prior.py",
            "images/classifier.py",
            "images/evaluate.py",
            "images/metrics.py",
        ),
    output:
        metrics="results/images/{dataset}/vqvae/metrics.parquet",
        html=report(
            "results/images/{dataset}/vqvae/metrics.html",
            caption="../report/images_metrics.rst",
            category="Images",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "table": "VQ-VAE metrics"},
        ),
        samples="results/images/{dataset}/vqvae/samples.npz",
    log:
        "results/logs/images_evaluate_vqvae/{dataset}.log",
    benchmark:
        "results/benchmarks/images_evaluate_vqvae/{dataset}.tsv"
    wildcard_constraints:
        dataset=IMAGES_DATASET,
    threads: IMAGES["threads"]
    resources:
        gpu=lambda wc: get_images_gpu(wc, "evaluate"),
    params:
        cfg=lambda wc: get_images_section(wc, "evaluate"),
        versions=IMAGES_LIBS,
    shell:
        "{PY} -m pipeline images evaluate-vqvae --config {params.cfg:q} --dataset {wildcards.dataset} "
        "--threads {threads} --data {input.data} --vqvae {input.vqvae} --prior {input.prior} "
        "--classifier {input.classifier} --output {output.metrics} --samples {output.samples} "
        "--html {output.html} "
        "> {log} 2>&1"


rule images_plot_vqvae:
    input:
        samples="results/images/{dataset}/vqvae/samples.npz",
        vqvae_log="results/images/{dataset}/vqvae/train_log.parquet",
        prior_log="results/images/{dataset}/prior/train_log.parquet",
        activations="results/images/{dataset}/vqvae/activations.npz",
        code=pkg_files("images/cli.py", "images/figures.py"),
    output:
        reconstructions=report(
            "results/images/{dataset}/figures/reconstructions.png",
            caption="../report/images_reconstructions.rst",
            category="Images",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "reconstructions"},
        ),
        samples=report(
            "results/images/{dataset}/figures/samples.png",
            caption="../report/images_samples.rst",
            category="Images",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "prior samples"},
        ),
        codebook=report(
            "results/images/{dataset}/figures/codebook_usage.png",
            caption="../report/images_codebook.rst",
            category="Images",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "codebook usage"},
        ),
        losses=report(
            "results/images/{dataset}/figures/loss_curves.png",
            caption="../report/images_losses.rst",
            category="Images",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "loss curves"},
        ),
        activations=report(
            "results/images/{dataset}/figures/activations.png",
            caption="../report/images_activations.rst",
            category="Images",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "figure": "activations"},
        ),
    log:
        "results/logs/images_plot_vqvae/{dataset}.log",
    benchmark:
        "results/benchmarks/images_plot_vqvae/{dataset}.tsv"
    wildcard_constraints:
        dataset=IMAGES_DATASET,
    threads: 1
    shell:
        "{PY} -m pipeline images plot-vqvae --samples {input.samples} --vqvae-log {input.vqvae_log} "
        "--prior-log {input.prior_log} --reconstructions {output.reconstructions} "
        "--samples-figure {output.samples} --codebook {output.codebook} --losses {output.losses} "
        "--activations {input.activations} --activations-figure {output.activations} "
        "> {log} 2>&1"


for _name in IMAGES["datasets"]:
    declare_results(
        f"results/images/{_name}/data_summary.parquet",
        {
            "dataset": [
                "n_images",
                "height",
                "width",
                "channels",
                "pixel_mean",
                "pixel_std",
            ]
        },
    )
    declare_results(
        f"results/images/{_name}/classifier/train_log.parquet",
        {"classifier": ["loss", "accuracy", "test_accuracy", "images_per_s"]},
    )
    declare_results(
        f"results/images/{_name}/vqvae/train_log.parquet",
        {
            "vqvae": [
                "loss",
                "mse_x",
                "mse_e",
                "mse_z",
                "perplexity",
                "codes_used",
                "images_per_s",
            ]
        },
    )
    declare_results(
        f"results/images/{_name}/prior/train_log.parquet",
        {"prior": ["loss", "bits_per_code", "images_per_s"]},
    )
    declare_results(
        f"results/images/{_name}/vqvae/metrics.parquet",
        {
            "vqvae": [
                "mse",
                "nmse",
                "psnr",
                "psnr_continuous_z",
                "decoder_bits_per_dim",
                "perplexity",
                "codes_used",
                "prior_bits_per_code",
                "prior_bits_per_dim",
                "bits_per_dim",
                "frechet_distance",
                "sliced_wasserstein",
                "n_images",
            ]
        },
    )


FINAL_OUTPUTS.extend(
    expand(
        [
            "results/images/{dataset}/data_summary.parquet",
            "results/images/{dataset}/classifier/train_log.parquet",
            "results/images/{dataset}/vqvae/metrics.parquet",
            "results/images/{dataset}/figures/reconstructions.png",
            "results/images/{dataset}/figures/samples.png",
            "results/images/{dataset}/figures/codebook_usage.png",
            "results/images/{dataset}/figures/loss_curves.png",
            "results/images/{dataset}/figures/activations.png",
        ],
        dataset=list(IMAGES["datasets"]),
    )
)
