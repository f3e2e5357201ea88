# Images domain: dataset -> classifier (features for Frechet distances) and VQ-VAE -> code prior
# -> evaluation -> figures (see pipeline/images/). One folder per dataset: results/images/{dataset}/.


include: "images_functions.smk"


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
    conda:
        CONDA_ENV
    threads: 1
    params:
        cfg=lambda wc: get_images_section(wc, "data"),
        versions=IMAGES_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline images prepare-dataset --config {params.cfg:q} --dataset {wildcards.dataset} "
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
    conda:
        CONDA_ENV
    threads: IMAGES["threads"]
    resources:
        gpu=lambda wc: get_images_gpu(wc, "classifier"),
    params:
        cfg=lambda wc: get_images_section(wc, "classifier"),
        versions=IMAGES_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline images train-classifier --config {params.cfg:q} --dataset {wildcards.dataset} "
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
    conda:
        CONDA_ENV
    threads: IMAGES["threads"]
    resources:
        gpu=lambda wc: get_images_gpu(wc, "vqvae"),
    params:
        cfg=lambda wc: get_images_section(wc, "vqvae"),
        versions=IMAGES_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline images train-vqvae --config {params.cfg:q} --dataset {wildcards.dataset} "
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
    conda:
        CONDA_ENV
    threads: IMAGES["threads"]
    resources:
        gpu=lambda wc: get_images_gpu(wc, "prior"),
    params:
        cfg=lambda wc: get_images_section(wc, "prior"),
        versions=IMAGES_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline images train-prior --config {params.cfg:q} --dataset {wildcards.dataset} "
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
    conda:
        CONDA_ENV
    threads: IMAGES["threads"]
    resources:
        gpu=lambda wc: get_images_gpu(wc, "evaluate"),
    params:
        cfg=lambda wc: get_images_section(wc, "evaluate"),
        versions=IMAGES_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline images evaluate-vqvae --config {params.cfg:q} --dataset {wildcards.dataset} "
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
    conda:
        CONDA_ENV
    threads: 1
    shell:
        "$PIPELINE_PYTHON -m pipeline images plot-vqvae --samples {input.samples} --vqvae-log {input.vqvae_log} "
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


# ---------------------------------------------------------------- post 1's checklist (E1.1, E1.3-E1.5)
# pipeline/images/vqvae_studies.py; the claims they decide: claims/post1.yaml.
IMAGES_STUDY_CODE = ["images/vqvae_studies.py", "images/evaluate.py", "images/metrics.py",
                                   "images/classifier.py", "images/prior.py", "images/pixelcnn.py",
                                   "images/vqvae.py", "images/figures.py"]  # fmt: skip
IMAGES_ABLATION = IMAGES["ablation"]
IMAGES_ABLATION_CELLS = [
    f"K{k}_{c}"
    for k in IMAGES_ABLATION["codebook_sizes"]
    for c in IMAGES_ABLATION["codebooks"]
]
# The sweep's dataset must be one of the config's datasets; a config without it (a test's tiny
# dataset, a reference config) runs no sweep, and says so.
IMAGES_ABLATION_DATASET = IMAGES_ABLATION["dataset"]
if (
    IMAGES_ABLATION_DATASET is not None
    and IMAGES_ABLATION_DATASET not in IMAGES["datasets"]
):
    logger.warning(
        f"images.ablation.dataset = {IMAGES_ABLATION_DATASET!r} is not one of images.datasets "
        f"({', '.join(IMAGES['datasets'])}): no E1.3 ablation sweep"
    )
    IMAGES_ABLATION_DATASET = None
IMAGES_E1_METRICS = {
    "E1.3": ["psnr", "psnr_continuous_z", "psnr_gap", "mse", "nmse", "decoder_bits_per_dim",
             "perplexity", "codes_used", "final_mse_x", "final_mse_e", "final_mse_z"],
    "E1.4": ["prior_bits_per_code", "train_bits_per_code", "prior_bits_per_dim", "n_parameters"],
}  # fmt: skip


rule images_ste_checks:
    input:
        code=pkg_files("images/__init__.py", "images/cli.py", "images/vqvae_studies.py"),
    output:
        table="results/images/post1_ste/metrics.parquet",
        html=report(
            "results/images/post1_ste/metrics.html",
            caption="../report/images_ste.rst",
            category="Post 1: VQ-VAE",
            subcategory="E1.1 straight-through",
            labels={"table": "E1.1 stop-gradient identities"},
        ),
    log:
        "results/logs/images_ste_checks/log.log",
    benchmark:
        "results/benchmarks/images_ste_checks/bench.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        cfg=canon(IMAGES["ste"]),
        versions=IMAGES_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline images ste-checks --config {params.cfg:q} --output {output.table} "
        "--html {output.html} > {log} 2>&1"


rule images_ablation_vqvae:
    input:
        data="results/images/{dataset}/data.npz",
        code=pkg_files(*IMAGES_TRAIN_CODE, *IMAGES_STUDY_CODE),
    output:
        "results/images/{dataset}/ablation/{cell}.parquet",
    log:
        "results/logs/images_ablation_vqvae/{dataset}/{cell}.log",
    benchmark:
        "results/benchmarks/images_ablation_vqvae/{dataset}/{cell}.tsv"
    wildcard_constraints:
        dataset=IMAGES_DATASET,
        cell="K[0-9]+_(loss|ema)",
    conda:
        CONDA_ENV
    threads: IMAGES["threads"]
    resources:
        gpu=lambda wc: get_images_gpu(wc, "vqvae"),
    params:
        cfg=canon(IMAGES_ABLATION),
        base=lambda wc: get_images_section(wc, "vqvae"),
        versions=IMAGES_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline images ablation-vqvae --config {params.cfg:q} --base {params.base:q} "
        "--dataset {wildcards.dataset} --cell {wildcards.cell} --threads {threads} "
        "--data {input.data} --output {output} > {log} 2>&1"


rule images_plot_ablation:
    input:
        tables=expand(
            "results/images/{{dataset}}/ablation/{cell}.parquet",
            cell=IMAGES_ABLATION_CELLS,
        ),
        code=pkg_files("images/cli.py", "images/figures.py", "images/vqvae_studies.py"),
    output:
        figure=report(
            "results/images/{dataset}/figures/ablation.png",
            caption="../report/images_ablation.rst",
            category="Post 1: VQ-VAE",
            subcategory="E1.3 ablations",
            labels={"dataset": "{dataset}", "figure": "E1.3 PSNR and perplexity"},
        ),
        html=report(
            "results/images/{dataset}/ablation/summary.html",
            caption="../report/images_ablation.rst",
            category="Post 1: VQ-VAE",
            subcategory="E1.3 ablations",
            labels={"dataset": "{dataset}", "table": "E1.3 medians over seeds"},
        ),
    log:
        "results/logs/images_plot_ablation/{dataset}.log",
    benchmark:
        "results/benchmarks/images_plot_ablation/{dataset}.tsv"
    wildcard_constraints:
        dataset=IMAGES_DATASET,
    conda:
        CONDA_ENV
    threads: 1
    params:
        cells=IMAGES_ABLATION_CELLS,
    shell:
        "$PIPELINE_PYTHON -m pipeline images plot-ablation --tables {input.tables} --cells {params.cells} "
        "--figure {output.figure} --html {output.html} > {log} 2>&1"


rule images_train_pixelcnn:
    input:
        data="results/images/{dataset}/data.npz",
        vqvae="results/images/{dataset}/vqvae/model.pt",
        code=pkg_files(
            *IMAGES_TRAIN_CODE,
            "images/vqvae.py",
            "images/prior.py",
            "images/pixelcnn.py",
        ),
    output:
        model="results/images/{dataset}/pixelcnn/model.pt",
        log="results/images/{dataset}/pixelcnn/train_log.parquet",
    log:
        "results/logs/images_train_pixelcnn/{dataset}.log",
    benchmark:
        "results/benchmarks/images_train_pixelcnn/{dataset}.tsv"
    wildcard_constraints:
        dataset=IMAGES_DATASET,
    conda:
        CONDA_ENV
    threads: IMAGES["threads"]
    resources:
        gpu=lambda wc: get_images_gpu(wc, "pixelcnn"),
    params:
        cfg=lambda wc: get_images_section(wc, "pixelcnn"),
        versions=IMAGES_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline images train-pixelcnn --config {params.cfg:q} --dataset {wildcards.dataset} "
        "--threads {threads} --data {input.data} --vqvae {input.vqvae} --output {output.model} "
        "--train-log {output.log} > {log} 2>&1"


rule images_compare_priors:
    input:
        data="results/images/{dataset}/data.npz",
        vqvae="results/images/{dataset}/vqvae/model.pt",
        prior="results/images/{dataset}/prior/model.pt",
        pixelcnn="results/images/{dataset}/pixelcnn/model.pt",
        code=pkg_files(*IMAGES_TRAIN_CODE, *IMAGES_STUDY_CODE),
    output:
        table="results/images/{dataset}/priors/metrics.parquet",
        html=report(
            "results/images/{dataset}/priors/metrics.html",
            caption="../report/images_priors.rst",
            category="Post 1: VQ-VAE",
            subcategory="E1.4 priors",
            labels={"dataset": "{dataset}", "table": "E1.4 bits per code"},
        ),
        figure=report(
            "results/images/{dataset}/figures/prior_comparison.png",
            caption="../report/images_priors.rst",
            category="Post 1: VQ-VAE",
            subcategory="E1.4 priors",
            labels={"dataset": "{dataset}", "figure": "E1.4 samples of both priors"},
        ),
    log:
        "results/logs/images_compare_priors/{dataset}.log",
    benchmark:
        "results/benchmarks/images_compare_priors/{dataset}.tsv"
    wildcard_constraints:
        dataset=IMAGES_DATASET,
    conda:
        CONDA_ENV
    threads: IMAGES["threads"]
    resources:
        gpu=lambda wc: int(
            IMAGES["datasets"][wc.dataset]["compare_priors"]["device"] == "cuda"
        ),
    params:
        cfg=lambda wc: get_images_section(wc, "compare_priors"),
        versions=IMAGES_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline images compare-priors --config {params.cfg:q} --dataset {wildcards.dataset} "
        "--threads {threads} --data {input.data} --vqvae {input.vqvae} --prior {input.prior} "
        "--pixelcnn {input.pixelcnn} --output {output.table} --html {output.html} "
        "--figure {output.figure} > {log} 2>&1"


rule images_interpolate_vqvae:
    input:
        data="results/images/{dataset}/data.npz",
        vqvae="results/images/{dataset}/vqvae/model.pt",
        code=pkg_files(*IMAGES_TRAIN_CODE, *IMAGES_STUDY_CODE),
    output:
        table="results/images/{dataset}/vqvae/interpolation.parquet",
        figure=report(
            "results/images/{dataset}/figures/interpolation.png",
            caption="../report/images_interpolation.rst",
            category="Post 1: VQ-VAE",
            subcategory="E1.5 interpolation",
            labels={"dataset": "{dataset}", "figure": "E1.5 interpolation"},
        ),
    log:
        "results/logs/images_interpolate_vqvae/{dataset}.log",
    benchmark:
        "results/benchmarks/images_interpolate_vqvae/{dataset}.tsv"
    wildcard_constraints:
        dataset=IMAGES_DATASET,
    conda:
        CONDA_ENV
    threads: 1
    params:
        cfg=lambda wc: get_images_section(wc, "interpolate"),
        versions=IMAGES_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline images interpolate-vqvae --config {params.cfg:q} --dataset {wildcards.dataset} "
        "--data {input.data} --vqvae {input.vqvae} --output {output.table} --figure {output.figure} "
        "> {log} 2>&1"


declare_results(
    "results/images/post1_ste/metrics.parquet",
    {
        "E1.1": [
            "forward_max_abs_diff",
            "forward_max_abs_diff_over_eps",
            "grad_max_abs_diff",
            "grad_max_abs_diff_over_eps",
            "max_abs_diff",
            "value_ratio",
        ]
    },
)
for _name in IMAGES["datasets"]:
    declare_results(
        f"results/images/{_name}/pixelcnn/train_log.parquet",
        {"pixelcnn": ["loss", "bits_per_code", "images_per_s"]},
    )
    declare_results(
        f"results/images/{_name}/priors/metrics.parquet",
        {"E1.4": IMAGES_E1_METRICS["E1.4"]},
    )
    declare_results(
        f"results/images/{_name}/vqvae/interpolation.parquet",
        {"E1.5": ["codes_changed"]},
    )
if IMAGES_ABLATION_DATASET is not None:
    for _cell in IMAGES_ABLATION_CELLS:
        declare_results(
            f"results/images/{IMAGES_ABLATION_DATASET}/ablation/{_cell}.parquet",
            {"E1.3": IMAGES_E1_METRICS["E1.3"]},
        )
    FINAL_OUTPUTS.extend(
        expand(
            [
                "results/images/{dataset}/ablation/{cell}.parquet",
                "results/images/{dataset}/ablation/summary.html",
                "results/images/{dataset}/figures/ablation.png",
            ],
            dataset=IMAGES_ABLATION_DATASET,
            cell=IMAGES_ABLATION_CELLS,
        )
    )
FINAL_OUTPUTS.append("results/images/post1_ste/metrics.parquet")
FINAL_OUTPUTS.extend(
    expand(
        [
            "results/images/{dataset}/priors/metrics.parquet",
            "results/images/{dataset}/figures/prior_comparison.png",
            "results/images/{dataset}/vqvae/interpolation.parquet",
            "results/images/{dataset}/figures/interpolation.png",
        ],
        dataset=list(IMAGES["datasets"]),
    )
)
