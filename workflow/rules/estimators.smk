# Rules of the estimators domain (see pipeline/estimators/): post 2 (漫谈重参数), posts.md §2.4.
# E2.1-E2.4: one Monte Carlo study per rule, fanned out over config["estimators"]["seeds"];
# estimators_combine joins them (plus the KS test of E2.1's p-values), estimators_plot draws them.
# E2.5: the author's discrete VAE and its baselines per dataset and variant, on the images track's
# data and classifier (results/images/{dataset}/).


include: "estimators_functions.smk"


EST = config["estimators"]
EST_SEEDS = EST["seeds"]
EST_STUDIES = {  # rule suffix -> (verb, config section)
    "gumbel_max": ("gumbel-max", "gumbel_max"),
    "gumbel_softmax": ("gumbel-softmax", "gumbel_softmax"),
    "continuous_gradients": ("continuous-gradients", "continuous"),
    "discrete_gradients": ("discrete-gradients", "discrete"),
}
EST_FIGURES = ["e2_1", "e2_2", "e2_3", "e2_4"]
EST_CODE = ["estimators/__init__.py", "estimators/cli.py", "estimators/experiments.py"]
EST_NUMERIC = ["estimators/gumbel.py", "estimators/gradients.py"]
EST_VAE_CODE = [
    "estimators/__init__.py",
    "estimators/cli.py",
    "estimators/vae_experiments.py",
    "images/dvae.py",
    "images/classifier.py",
    "images/datasets.py",
    "images/loader.py",
    "images/metrics.py",
    "engine/__init__.py",
    "engine/loop.py",
    "engine/data.py",
    "engine/checkpoints.py",
    "engine/ema.py",
    "engine/run.py",
]
EST_VERSIONS = lib_versions("numpy", "scipy", "pandas")
EST_TORCH = lib_versions("torch", "numpy", "scipy")
EST_DVAE = EST["dvae"]["datasets"]
EST_WILDCARD = "[A-Za-z0-9][A-Za-z0-9_-]*"


rule estimators_gumbel_max:
    input:
        code=pkg_files(*EST_CODE, *EST_NUMERIC),
    output:
        "results/estimators/gumbel_max/seed{seed}.parquet",
    log:
        "results/logs/estimators_gumbel_max/seed{seed}.log",
    benchmark:
        "results/benchmarks/estimators_gumbel_max/seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: EST["threads"]
    params:
        cfg=canon(EST["gumbel_max"]),
        versions=EST_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline estimators gumbel-max --config {params.cfg:q} --seed {wildcards.seed} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule estimators_gumbel_softmax:
    input:
        code=pkg_files(*EST_CODE, *EST_NUMERIC),
    output:
        "results/estimators/gumbel_softmax/seed{seed}.parquet",
    log:
        "results/logs/estimators_gumbel_softmax/seed{seed}.log",
    benchmark:
        "results/benchmarks/estimators_gumbel_softmax/seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: EST["threads"]
    params:
        cfg=canon(EST["gumbel_softmax"]),
        versions=EST_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline estimators gumbel-softmax --config {params.cfg:q} --seed {wildcards.seed} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule estimators_continuous_gradients:
    input:
        code=pkg_files(*EST_CODE, *EST_NUMERIC),
    output:
        "results/estimators/continuous_gradients/seed{seed}.parquet",
    log:
        "results/logs/estimators_continuous_gradients/seed{seed}.log",
    benchmark:
        "results/benchmarks/estimators_continuous_gradients/seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: EST["threads"]
    params:
        cfg=canon(EST["continuous"]),
        versions=EST_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline estimators continuous-gradients --config {params.cfg:q} "
        "--seed {wildcards.seed} --threads {threads} --output {output} > {log} 2>&1"


rule estimators_discrete_gradients:
    input:
        code=pkg_files(*EST_CODE, *EST_NUMERIC),
    output:
        "results/estimators/discrete_gradients/seed{seed}.parquet",
    log:
        "results/logs/estimators_discrete_gradients/seed{seed}.log",
    benchmark:
        "results/benchmarks/estimators_discrete_gradients/seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: EST["threads"]
    params:
        cfg=canon(EST["discrete"]),
        versions=EST_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline estimators discrete-gradients --config {params.cfg:q} "
        "--seed {wildcards.seed} --threads {threads} --output {output} > {log} 2>&1"


rule estimators_combine:
    input:
        runs=expand(
            "results/estimators/{study}/seed{seed}.parquet",
            study=list(EST_STUDIES),
            seed=EST_SEEDS,
        ),
        code=pkg_files(*EST_CODE),
    output:
        table="results/estimators/results.parquet",
        html=report(
            "results/estimators/results.html",
            caption="../report/estimators_results.rst",
            category="Post 2: reparameterisation and Gumbel-softmax",
            subcategory="tables",
            labels={"table": "E2.1-E2.4, every seed"},
        ),
    log:
        "results/logs/estimators_combine/combine.log",
    benchmark:
        "results/benchmarks/estimators_combine/combine.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        cfg=canon({"seeds": EST_SEEDS}),
        versions=EST_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline estimators combine --config {params.cfg:q} --inputs {input.runs} "
        "--output {output.table} --html {output.html} > {log} 2>&1"


rule estimators_plot:
    input:
        table="results/estimators/results.parquet",
        code=pkg_files(*EST_CODE, "estimators/figures.py"),
    output:
        report(
            "results/estimators/figures/{figure}.png",
            caption="../report/estimators_figure.rst",
            category="Post 2: reparameterisation and Gumbel-softmax",
            subcategory="figures",
            labels={"figure": "{figure}"},
        ),
    log:
        "results/logs/estimators_plot/{figure}.log",
    benchmark:
        "results/benchmarks/estimators_plot/{figure}.tsv"
    wildcard_constraints:
        figure="e2_[1-4]",
    conda:
        CONDA_ENV
    threads: 1
    shell:
        "$PIPELINE_PYTHON -m pipeline estimators plot --figure {wildcards.figure} --input {input.table} "
        "--output {output} > {log} 2>&1"


rule estimators_train_dvae:
    input:
        data="results/images/{dataset}/data.npz",
        code=pkg_files(*EST_VAE_CODE),
    output:
        model="results/estimators/{dataset}/dvae/{variant}/model.pt",
        epochs="results/estimators/{dataset}/dvae/{variant}/epochs.parquet",
    log:
        "results/logs/estimators_train_dvae/{dataset}/{variant}.log",
    benchmark:
        "results/benchmarks/estimators_train_dvae/{dataset}/{variant}.tsv"
    wildcard_constraints:
        dataset=EST_WILDCARD,
        variant=EST_WILDCARD,
    conda:
        CONDA_ENV
    threads: EST["threads"]
    resources:
        gpu=lambda wc: est_gpu(
            EST_DVAE[wc.dataset]["variants"][wc.variant]["train"]["device"]
        ),
    params:
        cfg=est_variant_cfg,
        versions=EST_TORCH,
    shell:
        "$PIPELINE_PYTHON -m pipeline estimators train-dvae --config {params.cfg:q} --dataset {wildcards.dataset} "
        "--variant {wildcards.variant} --threads {threads} --data {input.data} "
        "--output {output.model} --epochs-output {output.epochs} > {log} 2>&1"


rule estimators_evaluate_dvae:
    input:
        unpack(est_models),
        data="results/images/{dataset}/data.npz",
        classifier="results/images/{dataset}/classifier/model.pt",
        code=pkg_files(*EST_VAE_CODE),
    output:
        table="results/estimators/{dataset}/dvae/metrics.parquet",
        html=report(
            "results/estimators/{dataset}/dvae/metrics.html",
            caption="../report/estimators_dvae_metrics.rst",
            category="Post 2: reparameterisation and Gumbel-softmax",
            subcategory="discrete VAE ({dataset})",
            labels={"dataset": "{dataset}", "table": "E2.5 final metrics"},
        ),
        samples="results/estimators/{dataset}/dvae/samples.npz",
    log:
        "results/logs/estimators_evaluate_dvae/{dataset}.log",
    benchmark:
        "results/benchmarks/estimators_evaluate_dvae/{dataset}.tsv"
    wildcard_constraints:
        dataset=EST_WILDCARD,
    conda:
        CONDA_ENV
    threads: EST["threads"]
    resources:
        gpu=lambda wc: est_gpu(EST_DVAE[wc.dataset]["evaluate"]["device"]),
    params:
        cfg=lambda wc: canon(EST_DVAE[wc.dataset]["evaluate"]),
        models=lambda wc: " ".join(f"{v}={p}" for v, p in est_models(wc).items()),
        versions=EST_TORCH,
    shell:
        "$PIPELINE_PYTHON -m pipeline estimators evaluate-dvae --config {params.cfg:q} --dataset {wildcards.dataset} "
        "--threads {threads} --data {input.data} --classifier {input.classifier} "
        "--models {params.models} --output {output.table} --samples {output.samples} "
        "--html {output.html} > {log} 2>&1"


rule estimators_plot_dvae:
    input:
        epochs=lambda wc: [
            f"results/estimators/{wc.dataset}/dvae/{v}/epochs.parquet"
            for v in EST_DVAE[wc.dataset]["variants"]
        ],
        samples="results/estimators/{dataset}/dvae/samples.npz",
        code=pkg_files(*EST_CODE, "estimators/figures.py", "images/figures.py"),
    output:
        elbo=report(
            "results/estimators/{dataset}/figures/dvae_elbo.png",
            caption="../report/estimators_dvae_elbo.rst",
            category="Post 2: reparameterisation and Gumbel-softmax",
            subcategory="discrete VAE ({dataset})",
            labels={"dataset": "{dataset}", "figure": "test -ELBO per epoch"},
        ),
        samples=report(
            "results/estimators/{dataset}/figures/dvae_samples.png",
            caption="../report/estimators_dvae_samples.rst",
            category="Post 2: reparameterisation and Gumbel-softmax",
            subcategory="discrete VAE ({dataset})",
            labels={"dataset": "{dataset}", "figure": "random one-hot codes"},
        ),
    log:
        "results/logs/estimators_plot_dvae/{dataset}.log",
    benchmark:
        "results/benchmarks/estimators_plot_dvae/{dataset}.tsv"
    wildcard_constraints:
        dataset=EST_WILDCARD,
    conda:
        CONDA_ENV
    threads: 1
    shell:
        "$PIPELINE_PYTHON -m pipeline estimators plot-dvae --epochs {input.epochs} --samples {input.samples} "
        "--elbo-figure {output.elbo} --samples-figure {output.samples} > {log} 2>&1"


# ---- results tables (concrete paths) and what each holds
EST_PRODUCES = {  # study -> {experiment: metrics}
    "gumbel_max": {
        "E2.1": ["chi2_pvalue", "max_abs_z", "max_abs_error", "integral_max_rel_error"]
    },
    "gumbel_softmax": {
        "E2.2": [
            "tau",
            "mean_max",
            "argmax_chi2_pvalue",
            "bias",
            "bias_z",
            "mean_max_increases_as_tau_falls",
            "bias_decreases_as_tau_falls",
        ]
    },
    "continuous_gradients": {
        "E2.3": [
            "variance",
            "bias_z",
            "sf_over_reparam_variance",
            "sf_baseline_over_reparam_variance",
            "log_variance_slope_in_omega",
        ]
    },
    "discrete_gradients": {
        "E2.4": [
            "gradient_norm",
            "bias",
            "bias_z",
            "variance",
            "relative_bias",
            "relative_variance",
        ]
    },
}
EST_KS = ["ks_pvalue_of_chi2_pvalues", "ks_statistic_of_chi2_pvalues", "n_chi2_pvalues"]
for _study, _produces in EST_PRODUCES.items():
    for _seed in EST_SEEDS:
        declare_results(f"results/estimators/{_study}/seed{_seed}.parquet", _produces)
declare_results(
    "results/estimators/results.parquet",
    {
        **{k: v for p in EST_PRODUCES.values() for k, v in p.items()},
        "E2.1": EST_PRODUCES["gumbel_max"]["E2.1"] + EST_KS,
    },
)
for _dataset, _entry in EST_DVAE.items():
    for _variant in _entry["variants"]:
        declare_results(
            f"results/estimators/{_dataset}/dvae/{_variant}/epochs.parquet",
            {
                "E2.5": [
                    "tau",
                    "test_neg_elbo",
                    "test_neg_elbo_hard",
                    "train_seconds",
                    "engine_images_per_s",
                ]
            },
        )
    declare_results(
        f"results/estimators/{_dataset}/dvae/metrics.parquet",
        {
            "E2.5": [
                f"neg_iwae_k{_entry['evaluate']['iwae_k']}",
                "neg_elbo_iwae_images",
                "test_neg_elbo",
                "test_neg_elbo_hard",
                "confident_share",
                "frechet_distance",
            ]
        },
    )


FINAL_OUTPUTS.extend(
    ["results/estimators/results.parquet"]
    + expand("results/estimators/figures/{figure}.png", figure=EST_FIGURES)
    + expand(
        [
            "results/estimators/{dataset}/dvae/metrics.parquet",
            "results/estimators/{dataset}/figures/dvae_elbo.png",
            "results/estimators/{dataset}/figures/dvae_samples.png",
        ],
        dataset=list(EST_DVAE),
    )
)
