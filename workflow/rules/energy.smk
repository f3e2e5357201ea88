# Rules of the energy domain (see pipeline/energy/): post 3 (生成模型=能量模型), posts.md §3.4.
# E3.1-E3.3 run every seed of their section in one job (known densities, likelihood gradient,
# 2-D toy EBMs); the image EBM (E3.4; E3.5 CIFAR-10 on a GPU) trains one model per dataset and
# seed on the shared engine, on the images track's data and classifier (results/images/{dataset}/).
# energy_summarize joins everything into the one results table the ledger reads.
#
# Reference runs (config/energy-reference.yaml, keys: config/README.md "energy"):
#   .venv/bin/snakemake results/energy/results.parquet --cores 1 \
#       --configfile config/energy-reference.yaml
# (targets before --configfile: it takes several files and would swallow them)
# The CIFAR-10 entry (train.device: cuda) is left out of the CPU targets; on a GPU ask for
# results/energy/image_ebm/cifar10/metrics.parquet (or `python -m pipeline energy gpu-check`).


include: "energy_functions.smk"


ENERGY = config["energy"]
ENERGY_DATASETS = ENERGY["image_ebm"]["datasets"]
ENERGY_SEEDS = ENERGY["image_ebm"]["seeds"]
# Image EBMs that need CUDA are run on a GPU only, never as part of the CPU targets.
ENERGY_CPU_DATASETS = [
    d
    for d, e in ENERGY_DATASETS.items()
    if e.get("train", {}).get("device", "auto") != "cuda"
]
ENERGY_FIGURES = ["e3_1_bias", "e3_2_training", "e3_3_energies"]
ENERGY_CODE = [
    "energy/__init__.py",
    "energy/cli.py",
    "energy/experiments.py",
    "energy/langevin.py",
    "energy/densities.py",
    "energy/buffer.py",
    "energy/objective.py",
    "energy/ebm.py",
    "energy/toy.py",
    "energy/image_ebm.py",
    "energy/figures.py",
    "engine/__init__.py",
    "engine/loop.py",
    "engine/data.py",
    "engine/checkpoints.py",
    "engine/ema.py",
    "engine/run.py",
    "engine/activations.py",
]
ENERGY_IMAGE_CODE = [
    "images/ebm.py",
    "images/classifier.py",
    "images/datasets.py",
    "images/loader.py",
    "images/metrics.py",
    "images/figures.py",
]
ENERGY_VERSIONS = lib_versions("torch", "numpy", "scipy", "pandas")
ENERGY_WILDCARD = "[A-Za-z0-9][A-Za-z0-9_-]*"


rule energy_langevin_densities:
    input:
        code=pkg_files(*ENERGY_CODE),
    output:
        "results/energy/e3_1.parquet",
    log:
        "results/logs/energy_langevin_densities/run.log",
    benchmark:
        "results/benchmarks/energy_langevin_densities/run.tsv"
    conda:
        CONDA_ENV
    threads: ENERGY["threads"]
    params:
        cfg=canon(ENERGY["langevin_densities"]),
        versions=ENERGY_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline energy langevin-densities --config {params.cfg:q} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule energy_likelihood_gradient:
    input:
        code=pkg_files(*ENERGY_CODE),
    output:
        "results/energy/e3_2.parquet",
    log:
        "results/logs/energy_likelihood_gradient/run.log",
    benchmark:
        "results/benchmarks/energy_likelihood_gradient/run.tsv"
    conda:
        CONDA_ENV
    threads: ENERGY["threads"]
    params:
        cfg=canon(ENERGY["likelihood_gradient"]),
        versions=ENERGY_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline energy likelihood-gradient --config {params.cfg:q} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule energy_toy_ebm:
    input:
        code=pkg_files(*ENERGY_CODE),
    output:
        table="results/energy/e3_3.parquet",
        samples="results/energy/e3_3_samples.npz",
    log:
        "results/logs/energy_toy_ebm/run.log",
    benchmark:
        "results/benchmarks/energy_toy_ebm/run.tsv"
    conda:
        CONDA_ENV
    threads: ENERGY["threads"]
    params:
        cfg=canon(ENERGY["toy"]),
        versions=ENERGY_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline energy toy-ebm --config {params.cfg:q} --threads {threads} "
        "--output {output.table} --samples {output.samples} > {log} 2>&1"


rule energy_train_image_ebm:
    input:
        data="results/images/{dataset}/data.npz",
        code=pkg_files(*ENERGY_CODE, *ENERGY_IMAGE_CODE),
    output:
        model="results/energy/image_ebm/{dataset}/seed{seed}/model.pt",
        log="results/energy/image_ebm/{dataset}/seed{seed}/train_log.parquet",
    log:
        "results/logs/energy_train_image_ebm/{dataset}/seed{seed}.log",
    benchmark:
        "results/benchmarks/energy_train_image_ebm/{dataset}/seed{seed}.tsv"
    wildcard_constraints:
        dataset=ENERGY_WILDCARD,
    conda:
        CONDA_ENV
    threads: ENERGY["threads"]
    resources:
        gpu=energy_image_gpu,
    params:
        cfg=energy_image_cfg,
        versions=ENERGY_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline energy train-image-ebm --config {params.cfg:q} --dataset {wildcards.dataset} "
        "--seed {wildcards.seed} --threads {threads} --data {input.data} --output {output.model} "
        "--train-log {output.log} > {log} 2>&1"


rule energy_evaluate_image_ebm:
    input:
        data="results/images/{dataset}/data.npz",
        classifier="results/images/{dataset}/classifier/model.pt",
        models=energy_models,
        code=pkg_files(*ENERGY_CODE, *ENERGY_IMAGE_CODE),
    output:
        table="results/energy/image_ebm/{dataset}/metrics.parquet",
        samples="results/energy/image_ebm/{dataset}/samples.npz",
    log:
        "results/logs/energy_evaluate_image_ebm/{dataset}.log",
    benchmark:
        "results/benchmarks/energy_evaluate_image_ebm/{dataset}.tsv"
    wildcard_constraints:
        dataset=ENERGY_WILDCARD,
    conda:
        CONDA_ENV
    threads: ENERGY["threads"]
    resources:
        gpu=energy_image_gpu,
    params:
        cfg=energy_image_cfg,
        versions=ENERGY_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline energy evaluate-image-ebm --config {params.cfg:q} "
        "--dataset {wildcards.dataset} --threads {threads} --data {input.data} "
        "--classifier {input.classifier} --models {input.models} --output {output.table} "
        "--samples {output.samples} > {log} 2>&1"


rule energy_summarize:
    input:
        studies=[
            "results/energy/e3_1.parquet",
            "results/energy/e3_2.parquet",
            "results/energy/e3_3.parquet",
        ],
        images=expand(
            "results/energy/image_ebm/{dataset}/metrics.parquet",
            dataset=ENERGY_CPU_DATASETS,
        ),
        logs=expand(
            "results/energy/image_ebm/{dataset}/seed{seed}/train_log.parquet",
            dataset=ENERGY_CPU_DATASETS,
            seed=ENERGY_SEEDS,
        ),
        code=pkg_files(*ENERGY_CODE),
    output:
        table="results/energy/results.parquet",
        html=report(
            "results/energy/results.html",
            caption="../report/energy_results.rst",
            category="Post 3: energy models",
            subcategory="tables",
            labels={"table": "all results (E3.1-E3.4)"},
        ),
    log:
        "results/logs/energy_summarize/run.log",
    benchmark:
        "results/benchmarks/energy_summarize/run.tsv"
    conda:
        CONDA_ENV
    threads: 1
    shell:
        "$PIPELINE_PYTHON -m pipeline energy summarize --inputs {input.studies} {input.images} {input.logs} "
        "--output {output.table} --html {output.html} > {log} 2>&1"


rule energy_plot:
    input:
        table="results/energy/results.parquet",
        code=pkg_files(*ENERGY_CODE),
    output:
        report(
            "results/energy/figures/{figure}.png",
            caption="../report/energy_figure.rst",
            category="Post 3: energy models",
            subcategory="figures",
            labels={"figure": "{figure}"},
        ),
    log:
        "results/logs/energy_plot/{figure}.log",
    benchmark:
        "results/benchmarks/energy_plot/{figure}.tsv"
    wildcard_constraints:
        figure="|".join(ENERGY_FIGURES),
    conda:
        CONDA_ENV
    threads: 1
    shell:
        "$PIPELINE_PYTHON -m pipeline energy plot --figure {wildcards.figure} --input {input.table} "
        "--output {output} > {log} 2>&1"


rule energy_plot_toy_samples:
    input:
        samples="results/energy/e3_3_samples.npz",
        code=pkg_files(*ENERGY_CODE),
    output:
        report(
            "results/energy/figures/e3_3_samples.png",
            caption="../report/energy_e3_3_samples.rst",
            category="Post 3: energy models",
            subcategory="figures",
            labels={"figure": "e3_3_samples"},
        ),
    log:
        "results/logs/energy_plot_toy_samples/run.log",
    conda:
        CONDA_ENV
    threads: 1
    shell:
        "$PIPELINE_PYTHON -m pipeline energy plot-samples --kind toy --samples {input.samples} "
        "--output {output} > {log} 2>&1"


rule energy_plot_image_samples:
    input:
        samples="results/energy/image_ebm/{dataset}/samples.npz",
        code=pkg_files(*ENERGY_CODE, *ENERGY_IMAGE_CODE),
    output:
        report(
            "results/energy/figures/e3_4_samples_{dataset}.png",
            caption="../report/energy_e3_4_samples.rst",
            category="Post 3: energy models",
            subcategory="figures",
            labels={"figure": "e3_4_samples", "dataset": "{dataset}"},
        ),
    log:
        "results/logs/energy_plot_image_samples/{dataset}.log",
    wildcard_constraints:
        dataset=ENERGY_WILDCARD,
    conda:
        CONDA_ENV
    threads: 1
    shell:
        "$PIPELINE_PYTHON -m pipeline energy plot-samples --kind images --samples {input.samples} "
        "--output {output} > {log} 2>&1"


ENERGY_TRAIN_METRICS = ["loss", "cd", "l2", "energy_pos", "energy_neg", "abs_energy"]
ENERGY_SAMPLE_METRICS = ["frechet_distance", "classes_covered", "class_entropy"] + [
    f"class_share_{k}" for k in range(10)
]
declare_results(
    "results/energy/results.parquet",
    {
        "E3.1": [
            "ks_statistic",
            "ks_pvalue",
            "statistic_mean",
            "bias",
            "bias_se",
            "chain_bias",
            "bias_z",
            "bias_slope",
        ],
        "E3.2": [
            "E_x2",
            "E_x4",
            "rel_error_E_x2",
            "rel_error_E_x4",
            "theta1",
            "theta2",
            "theta1_mle",
            "theta2_mle",
            "theta1_star",
            "theta2_star",
            "rel_error_theta1",
            "rel_error_theta2",
        ],
        "E3.3": [
            "energy_distance_real",
            "energy_distance_fresh",
            "energy_distance_buffer",
            "modes_covered_real",
            "modes_covered_fresh",
            "modes_covered_buffer",
            "mode_mass_real",
            "mode_mass_fresh",
            "mode_mass_buffer",
            "modes_covered_gain",
            "diverged_at_step",
        ]
        + ENERGY_TRAIN_METRICS,
        "E3.4": ENERGY_SAMPLE_METRICS
        + ENERGY_TRAIN_METRICS
        + ["diverged_at_step", "images_per_s"],
    },
)
declare_results(
    "results/energy/image_ebm/cifar10/metrics.parquet",
    {"E3.5": ENERGY_SAMPLE_METRICS + ["diverged_at_step"]},
    in_dag="cifar10" in config["images"]["datasets"],
)

FINAL_OUTPUTS.extend(
    ["results/energy/results.parquet", "results/energy/figures/e3_3_samples.png"]
    + expand("results/energy/figures/{figure}.png", figure=ENERGY_FIGURES)
    + expand(
        "results/energy/figures/e3_4_samples_{dataset}.png", dataset=ENERGY_CPU_DATASETS
    )
)
