# Rules of the em domain (see pipeline/em/): EM, K-means, pLSA, Newton against gradient descent,
# and the identities of posts 6 and 8 (pipeline/em/identities.py). The run rules are fanned out
# over config["em"]["seeds"] (the cheap identity checks loop over the seeds in one job); each
# writes a results table (pipeline/tables.py), em_summarize combines them into
# results/em/runs.parquet (the table the ledger reads) and seed bands, em_plot draws the figures.


include: "em_functions.smk"


EM = config["em"]
EM_SEEDS = EM["seeds"]
EM_FIGURES = [
    "convergence",
    "soft_kmeans",
    "newton_gd",
    "timings",
    "ari",
    "half_steps",
    "gmm_soft_kmeans",
]
EM_SEEDED = [
    "gmm_synthetic",
    "kmeans_blobs",
    "soft_kmeans",
    "plsa_synthetic",
    "real_data",
    "plsa_corpus",
]
# A GPU is requested only when the config asks for CUDA explicitly.
EM_GPU = int(EM["backend"] == "torch" and EM["device"] == "cuda")
# Every verb imports cli.py, which imports experiments.py and identities.py.
EM_CODE = [
    "em/__init__.py",
    "em/backend.py",
    "em/experiments.py",
    "em/identities.py",
    "em/cli.py",
]
# The identity checks: one job each, looping over the seeds (results/em/<name>/runs.parquet).
EM_IDENTITIES = [
    "gmm_half_steps",
    "cross_entropy_identity",
    "plsa_surrogate",
    "gmm_vs_soft_kmeans",
]
EM_VERSIONS = lib_versions("numpy", "scipy", "scikit-learn", "torch", "gensim")


rule em_gmm_synthetic:
    input:
        code=pkg_files(*EM_CODE, "em/gmm.py", "em/kmeans.py", "em/datasets.py"),
    output:
        "results/em/gmm_synthetic/seed{seed}.parquet",
    log:
        "results/logs/em_gmm_synthetic/seed{seed}.log",
    benchmark:
        "results/benchmarks/em_gmm_synthetic/seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("gmm"),
        versions=EM_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline em gmm-synthetic --config {params.cfg:q} --seed {wildcards.seed} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule em_kmeans_blobs:
    input:
        code=pkg_files(*EM_CODE, "em/kmeans.py"),
    output:
        "results/em/kmeans_blobs/seed{seed}.parquet",
    log:
        "results/logs/em_kmeans_blobs/seed{seed}.log",
    benchmark:
        "results/benchmarks/em_kmeans_blobs/seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("kmeans"),
        versions=EM_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline em kmeans-blobs --config {params.cfg:q} --seed {wildcards.seed} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule em_soft_kmeans:
    input:
        code=pkg_files(*EM_CODE, "em/kmeans.py"),
    output:
        "results/em/soft_kmeans/seed{seed}.parquet",
    log:
        "results/logs/em_soft_kmeans/seed{seed}.log",
    benchmark:
        "results/benchmarks/em_soft_kmeans/seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("soft_kmeans"),
        versions=EM_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline em soft-kmeans --config {params.cfg:q} --seed {wildcards.seed} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule em_plsa_synthetic:
    input:
        code=pkg_files(*EM_CODE, "em/plsa.py", "em/datasets.py"),
    output:
        "results/em/plsa_synthetic/seed{seed}.parquet",
    log:
        "results/logs/em_plsa_synthetic/seed{seed}.log",
    benchmark:
        "results/benchmarks/em_plsa_synthetic/seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("plsa"),
        versions=EM_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline em plsa-synthetic --config {params.cfg:q} --seed {wildcards.seed} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule em_real_data:
    input:
        code=pkg_files(*EM_CODE, "em/gmm.py", "em/kmeans.py", "em/datasets.py"),
    output:
        "results/em/real_data/seed{seed}.parquet",
    log:
        "results/logs/em_real_data/seed{seed}.log",
    benchmark:
        "results/benchmarks/em_real_data/seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("real_data"),
        versions=EM_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline em real-data --config {params.cfg:q} --seed {wildcards.seed} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule em_plsa_corpus:
    input:
        code=pkg_files(*EM_CODE, "em/plsa.py", "em/datasets.py"),
    output:
        "results/em/plsa_corpus/seed{seed}.parquet",
    log:
        "results/logs/em_plsa_corpus/seed{seed}.log",
    benchmark:
        "results/benchmarks/em_plsa_corpus/seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("corpora"),
        versions=EM_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline em plsa-corpus --config {params.cfg:q} --seed {wildcards.seed} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule em_newton_gd:
    input:
        code=pkg_files(*EM_CODE, "em/newton.py"),
    output:
        "results/em/newton_gd/runs.parquet",
    log:
        "results/logs/em_newton_gd/runs.log",
    benchmark:
        "results/benchmarks/em_newton_gd/runs.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        cfg=canon({**EM["newton"], "backend": "numpy"}),
        versions=EM_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline em newton-gd --config {params.cfg:q} --threads {threads} "
        "--output {output} > {log} 2>&1"


rule em_gmm_half_steps:
    input:
        code=pkg_files(*EM_CODE, "em/gmm.py", "em/datasets.py"),
    output:
        "results/em/gmm_half_steps/runs.parquet",
    log:
        "results/logs/em_gmm_half_steps/runs.log",
    benchmark:
        "results/benchmarks/em_gmm_half_steps/runs.tsv"
    conda:
        CONDA_ENV
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("half_steps"),
        seeds=EM_SEEDS,
        versions=EM_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline em gmm-half-steps --config {params.cfg:q} --seeds {params.seeds} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule em_cross_entropy_identity:
    input:
        code=pkg_files(*EM_CODE),
    output:
        "results/em/cross_entropy_identity/runs.parquet",
    log:
        "results/logs/em_cross_entropy_identity/runs.log",
    benchmark:
        "results/benchmarks/em_cross_entropy_identity/runs.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        cfg=canon(EM["cross_entropy"]),
        seeds=EM_SEEDS,
        versions=EM_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline em cross-entropy-identity --config {params.cfg:q} "
        "--seeds {params.seeds} --threads {threads} --output {output} > {log} 2>&1"


rule em_plsa_surrogate:
    input:
        code=pkg_files(*EM_CODE, "em/plsa.py", "em/datasets.py"),
    output:
        "results/em/plsa_surrogate/runs.parquet",
    log:
        "results/logs/em_plsa_surrogate/runs.log",
    benchmark:
        "results/benchmarks/em_plsa_surrogate/runs.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        cfg=canon(EM["plsa_surrogate"]),
        seeds=EM_SEEDS,
        versions=EM_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline em plsa-surrogate --config {params.cfg:q} --seeds {params.seeds} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule em_gmm_vs_soft_kmeans:
    input:
        code=pkg_files(*EM_CODE, "em/gmm.py", "em/kmeans.py"),
    output:
        "results/em/gmm_vs_soft_kmeans/runs.parquet",
    log:
        "results/logs/em_gmm_vs_soft_kmeans/runs.log",
    benchmark:
        "results/benchmarks/em_gmm_vs_soft_kmeans/runs.tsv"
    conda:
        CONDA_ENV
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("gmm_soft_kmeans"),
        seeds=EM_SEEDS,
        versions=EM_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline em gmm-vs-soft-kmeans --config {params.cfg:q} --seeds {params.seeds} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule em_summarize:
    input:
        runs=expand("results/em/{run}/seed{seed}.parquet", run=EM_SEEDED, seed=EM_SEEDS),
        newton="results/em/newton_gd/runs.parquet",
        identities=expand("results/em/{run}/runs.parquet", run=EM_IDENTITIES),
        code=pkg_files(*EM_CODE, "em/figures.py"),
    output:
        runs="results/em/runs.parquet",
        summary="results/em/summary.parquet",
        html=report(
            "results/em/summary.html",
            caption="../report/em_summary.rst",
            category="EM, K-means, pLSA",
            subcategory="tables",
            labels={"table": "seed bands"},
        ),
    log:
        "results/logs/em_summarize/summarize.log",
    benchmark:
        "results/benchmarks/em_summarize/summarize.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        cfg=canon({"seeds": EM_SEEDS}),
    shell:
        "$PIPELINE_PYTHON -m pipeline em summarize --config {params.cfg:q} "
        "--inputs {input.runs} {input.newton} {input.identities} "
        "--runs-output {output.runs} --output {output.summary} --html {output.html} > {log} 2>&1"


rule em_plot:
    input:
        runs="results/em/runs.parquet",
        code=pkg_files(*EM_CODE, "em/figures.py", "em/newton.py"),
    output:
        report(
            "results/em/figures/{figure}.png",
            caption="../report/em_figure.rst",
            category="EM, K-means, pLSA",
            subcategory="figures",
            labels={"figure": "{figure}"},
        ),
    log:
        "results/logs/em_plot/{figure}.log",
    benchmark:
        "results/benchmarks/em_plot/{figure}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    shell:
        "$PIPELINE_PYTHON -m pipeline em plot --figure {wildcards.figure} --input {input.runs} "
        "--output {output} > {log} 2>&1"


# results/em/runs.parquet holds every run table's rows (em_summarize); it is the one em table the
# ledger reads, so the per-run tables (its parts) are not declared again.
EM_PRODUCES = {
    "E6.1": [
        "ari",
        "final_nll",
        "fit_seconds",
        "lower_bound",
        "marginal_nll",
        "max_gap_after_e_step",
        "max_nll_increase",
        "max_objective_increase",
        "mean_log_likelihood",
        "min_lower_bound_step",
        "min_posterior_kl_after_m_step",
        "n_iter",
        "objective_17",
        "parameter_gap_to_sklearn",
    ],
    "E6.3": [
        "gap_to_free_form_optimum",
        "identity_gap",
        "log_likelihood_from_frequency_table",
        "log_likelihood_per_sample",
        "log_likelihood_post_form",
    ],
    "E8.2": ["max_fd_gradient_gap"],
    "E8.1": [
        "best_step",
        "converged",
        "convergence_order",
        "f",
        "final_f",
        "final_min_curvature",
        "final_x0",
        "grad_norm",
        "iterations",
        "max_f_increase",
    ],
    "E8.3": [
        "ari",
        "ari_doc_topic",
        "fit_seconds",
        "learning_rate",
        "log_likelihood_per_token",
        "max_objective_increase",
        "neg_log_likelihood_per_token",
        "topic_tv_error",
    ],
    "E8.4": [
        "ari",
        "centre_gap_to_lloyd",
        "fit_seconds",
        "inertia",
        "inertia_rel_diff",
        "labels_equal",
        "max_objective_increase",
        "n_iter",
        "smoothed_objective",
    ],
    "E8.5": [
        "ari",
        "centre_gap_to_gmm_full",
        "max_joint_kl_minus_s_at_iterate",
        "max_offset_minus_neg_entropy",
        "max_tangency_gap",
        "min_surrogate_margin_of_m_step",
        "responsibility_gap",
    ],
    "real_data": ["ari"],
}
declare_results("results/em/runs.parquet", EM_PRODUCES)


FINAL_OUTPUTS.extend(
    ["results/em/summary.parquet"]
    + expand("results/em/figures/{figure}.png", figure=EM_FIGURES)
)
