# Rules of the dynamics domain (see pipeline/dynamics/): post 4 (让Keras更酷一些) and its companion
# 6583. E4.4 Dirac-GAN and E4.5 loader safety need no data; E4.1-E4.3 train on an image dataset
# of the images track (results/images/<dataset>/data.npz). E4.3 fans out over seeds.
DYN = config["dynamics"]
DYN_CODE = ["dynamics/__init__.py", "dynamics/cli.py", "dynamics/experiments.py"]
DYN_ENGINE = [
    "engine/__init__.py",
    "engine/loop.py",
    "engine/ema.py",
    "engine/data.py",
    "engine/activations.py",
    "engine/checkpoints.py",
    "engine/run.py",
    "images/datasets.py",
    "images/loader.py",
    "images/mlp.py",
]
DYN_LIBS = lib_versions("torch", "numpy", "scipy")
DYN_EMA = DYN["ema_benefit"]
DYN_EMA_TABLES = expand(
    "results/dynamics/ema_benefit/{dataset}/seed{seed}.parquet",
    dataset=DYN_EMA["dataset"],
    seed=DYN["seeds"],
)
DYN_EMA_METRICS = [
    "test_accuracy",
    "final_accuracy",
    "last_epochs_std",
    "last_epochs_mean",
    "final_gain_over_none",
    "std_ratio_to_none",
]


rule dynamics_dirac_gan:
    input:
        code=pkg_files(*DYN_CODE, "dynamics/dirac_gan.py", "dynamics/figures.py"),
    output:
        table="results/dynamics/dirac_gan/results.parquet",
        html=report(
            "results/dynamics/dirac_gan/results.html",
            caption="../report/dynamics_dirac_gan.rst",
            category="Post 4: EMA, intermediate variables, loaders",
            subcategory="E4.4 Dirac-GAN",
            labels={"table": "verdict rows"},
        ),
        norms=report(
            "results/dynamics/dirac_gan/norms.png",
            caption="../report/dynamics_dirac_gan.rst",
            category="Post 4: EMA, intermediate variables, loaders",
            subcategory="E4.4 Dirac-GAN",
            labels={"figure": "|theta(t)|"},
        ),
        phase=report(
            "results/dynamics/dirac_gan/phase.png",
            caption="../report/dynamics_dirac_gan.rst",
            category="Post 4: EMA, intermediate variables, loaders",
            subcategory="E4.4 Dirac-GAN",
            labels={"figure": "phase portraits"},
        ),
    log:
        "results/logs/dynamics_dirac_gan/run.log",
    benchmark:
        "results/benchmarks/dynamics_dirac_gan/run.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        cfg=canon(DYN["dirac_gan"]),
        versions=DYN_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline dynamics dirac-gan --config {params.cfg:q} --output {output.table} "
        "--html {output.html} --norms {output.norms} --phase {output.phase} > {log} 2>&1"


rule dynamics_intermediate_variables:
    input:
        data=f"results/images/{DYN['intermediate_variables']['dataset']}/data.npz",
        code=pkg_files(
            *DYN_CODE, *DYN_ENGINE, "dynamics/capture.py", "dynamics/averaging.py"
        ),
    output:
        table="results/dynamics/intermediate_variables.parquet",
        html=report(
            "results/dynamics/intermediate_variables.html",
            caption="../report/dynamics_intermediate_variables.rst",
            category="Post 4: EMA, intermediate variables, loaders",
            subcategory="E4.1 intermediate variables",
        ),
    log:
        "results/logs/dynamics_intermediate_variables/run.log",
    benchmark:
        "results/benchmarks/dynamics_intermediate_variables/run.tsv"
    conda:
        CONDA_ENV
    threads: DYN["threads"]
    params:
        cfg=canon(DYN["intermediate_variables"]),
        versions=DYN_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline dynamics intermediate-variables --config {params.cfg:q} --data {input.data} "
        "--threads {threads} --output {output.table} --html {output.html} > {log} 2>&1"


rule dynamics_ema_semantics:
    input:
        data=f"results/images/{DYN['ema_semantics']['dataset']}/data.npz",
        code=pkg_files(*DYN_CODE, *DYN_ENGINE, "dynamics/averaging.py"),
    output:
        table="results/dynamics/ema_semantics.parquet",
        html=report(
            "results/dynamics/ema_semantics.html",
            caption="../report/dynamics_ema_semantics.rst",
            category="Post 4: EMA, intermediate variables, loaders",
            subcategory="E4.2 EMA semantics",
        ),
    log:
        "results/logs/dynamics_ema_semantics/run.log",
    benchmark:
        "results/benchmarks/dynamics_ema_semantics/run.tsv"
    conda:
        CONDA_ENV
    threads: DYN["threads"]
    params:
        cfg=canon(DYN["ema_semantics"]),
        versions=DYN_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline dynamics ema-semantics --config {params.cfg:q} --data {input.data} "
        "--threads {threads} --output {output.table} --html {output.html} > {log} 2>&1"


rule dynamics_ema_benefit:
    input:
        data="results/images/{dataset}/data.npz",
        code=pkg_files(
            *DYN_CODE,
            *DYN_ENGINE,
            "dynamics/averaging.py",
            "dynamics/loading.py",
            "images/resnet.py",
        ),
    output:
        "results/dynamics/ema_benefit/{dataset}/seed{seed}.parquet",
    log:
        "results/logs/dynamics_ema_benefit/{dataset}/seed{seed}.log",
    benchmark:
        "results/benchmarks/dynamics_ema_benefit/{dataset}/seed{seed}.tsv"
    wildcard_constraints:
        dataset=IMAGES_DATASET,
        seed=r"\d+",
    conda:
        CONDA_ENV
    threads: DYN["threads"]
    resources:
        gpu=int(DYN_EMA["device"] == "cuda"),
    params:
        cfg=canon(DYN_EMA),
        versions=DYN_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline dynamics ema-benefit --config {params.cfg:q} --data {input.data} "
        "--seed {wildcards.seed} --threads {threads} --output {output} > {log} 2>&1"


rule dynamics_plot_ema_benefit:
    input:
        tables=DYN_EMA_TABLES,
        code=pkg_files(*DYN_CODE, "dynamics/figures.py"),
    output:
        table=f"results/dynamics/ema_benefit/{DYN_EMA['dataset']}/summary.parquet",
        html=report(
            f"results/dynamics/ema_benefit/{DYN_EMA['dataset']}/summary.html",
            caption="../report/dynamics_ema_benefit.rst",
            category="Post 4: EMA, intermediate variables, loaders",
            subcategory="E4.3 EMA benefit",
            labels={"table": "final rows per seed"},
        ),
        figure=report(
            f"results/dynamics/ema_benefit/{DYN_EMA['dataset']}/accuracy.png",
            caption="../report/dynamics_ema_benefit.rst",
            category="Post 4: EMA, intermediate variables, loaders",
            subcategory="E4.3 EMA benefit",
            labels={"figure": "test accuracy per epoch"},
        ),
    log:
        f"results/logs/dynamics_plot_ema_benefit/{DYN_EMA['dataset']}.log",
    benchmark:
        f"results/benchmarks/dynamics_plot_ema_benefit/{DYN_EMA['dataset']}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    shell:
        "$PIPELINE_PYTHON -m pipeline dynamics plot-ema-benefit --inputs {input.tables} "
        "--figure {output.figure} --output {output.table} --html {output.html} > {log} 2>&1"


rule dynamics_loader_safety:
    input:
        code=pkg_files(*DYN_CODE, "dynamics/loading.py", "engine/data.py"),
    output:
        table="results/dynamics/loader_safety.parquet",
        html=report(
            "results/dynamics/loader_safety.html",
            caption="../report/dynamics_loader_safety.rst",
            category="Post 4: EMA, intermediate variables, loaders",
            subcategory="E4.5 loader safety",
        ),
    log:
        "results/logs/dynamics_loader_safety/run.log",
    benchmark:
        "results/benchmarks/dynamics_loader_safety/run.tsv"
    conda:
        CONDA_ENV
    threads: 2
    params:
        cfg=canon(DYN["loader_safety"]),
        versions=DYN_LIBS,
    shell:
        "$PIPELINE_PYTHON -m pipeline dynamics loader-safety --config {params.cfg:q} --output {output.table} "
        "--html {output.html} > {log} 2>&1"


declare_results(
    "results/dynamics/dirac_gan/results.parquet",
    {
        "E4.4": [
            "theta_norm_initial",
            "theta_norm_final",
            "theta_norm_tail_min",
            "theta_norm_tail_max",
            "theta_norm_tail_mean",
            "ema_theta_norm_final",
            "ema_to_final_ratio",
        ]
    },
)
declare_results(
    "results/dynamics/intermediate_variables.parquet",
    {"E4.1": ["max_abs_diff", "test_accuracy"]},
)
declare_results(
    "results/dynamics/ema_semantics.parquet",
    {
        "E4.2": [
            "raw_weights_max_abs_diff",
            "weights_max_abs_diff",
            "shadow_vs_closed_form_max_abs_diff",
        ]
    },
)
declare_results(
    "results/dynamics/loader_safety.parquet",
    {
        "E4.5": [
            "copies_per_item_min",
            "copies_per_item_max",
            "workers",
            "distinct_worker_streams",
            "identical_batches",
        ]
    },
)
for _path in DYN_EMA_TABLES:
    declare_results(_path, {"E4.3": DYN_EMA_METRICS})


FINAL_OUTPUTS.extend(
    [
        "results/dynamics/dirac_gan/results.parquet",
        "results/dynamics/dirac_gan/norms.png",
        "results/dynamics/dirac_gan/phase.png",
        "results/dynamics/intermediate_variables.parquet",
        "results/dynamics/ema_semantics.parquet",
        "results/dynamics/loader_safety.parquet",
        f"results/dynamics/ema_benefit/{DYN_EMA['dataset']}/summary.parquet",
        f"results/dynamics/ema_benefit/{DYN_EMA['dataset']}/accuracy.png",
    ]
)
