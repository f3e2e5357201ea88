# Rules of the em domain (see pipeline/em/): EM, K-means, pLSA, Newton against gradient descent.
# Each run rule is fanned out over config["em"]["seeds"] and writes one tidy Parquet table;
# em_summarize combines them into seed bands, em_plot draws the report figures.

EM = config["em"]
EM_SEEDS = EM["seeds"]
EM_FIGURES = ["convergence", "soft_kmeans", "newton_gd", "timings", "ari"]
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
EM_CODE = ["em/__init__.py", "em/backend.py", "em/experiments.py", "em/cli.py"]
EM_VERSIONS = lib_versions("numpy", "scipy", "scikit-learn", "torch", "gensim")


def em_cfg(section):
    """One run's config: its own section plus the shared backend and device."""
    return canon({**EM[section], "backend": EM["backend"], "device": EM["device"]})


rule em_gmm_synthetic:
    input:
        code=pkg_files(*EM_CODE, "em/gmm.py", "em/kmeans.py", "em/datasets.py"),
    output:
        "results/em/gmm_synthetic/seed{seed}.parquet",
    log:
        "results/logs/em_gmm_synthetic/seed{seed}.log",
    benchmark:
        "results/benchmarks/em_gmm_synthetic/seed{seed}.tsv"
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("gmm"),
        versions=EM_VERSIONS,
    shell:
        "{PY} -m pipeline em gmm-synthetic --config {params.cfg:q} --seed {wildcards.seed} "
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
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("kmeans"),
        versions=EM_VERSIONS,
    shell:
        "{PY} -m pipeline em kmeans-blobs --config {params.cfg:q} --seed {wildcards.seed} "
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
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("soft_kmeans"),
        versions=EM_VERSIONS,
    shell:
        "{PY} -m pipeline em soft-kmeans --config {params.cfg:q} --seed {wildcards.seed} "
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
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("plsa"),
        versions=EM_VERSIONS,
    shell:
        "{PY} -m pipeline em plsa-synthetic --config {params.cfg:q} --seed {wildcards.seed} "
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
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("real_data"),
        versions=EM_VERSIONS,
    shell:
        "{PY} -m pipeline em real-data --config {params.cfg:q} --seed {wildcards.seed} "
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
    threads: EM["threads"]
    resources:
        gpu=EM_GPU,
    params:
        cfg=em_cfg("corpora"),
        versions=EM_VERSIONS,
    shell:
        "{PY} -m pipeline em plsa-corpus --config {params.cfg:q} --seed {wildcards.seed} "
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
    threads: 1
    params:
        cfg=canon({**EM["newton"], "backend": "numpy"}),
        versions=EM_VERSIONS,
    shell:
        "{PY} -m pipeline em newton-gd --config {params.cfg:q} --threads {threads} "
        "--output {output} > {log} 2>&1"


rule em_summarize:
    input:
        runs=expand("results/em/{run}/seed{seed}.parquet", run=EM_SEEDED, seed=EM_SEEDS),
        newton="results/em/newton_gd/runs.parquet",
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
    threads: 1
    params:
        cfg=canon({"seeds": EM_SEEDS}),
    shell:
        "{PY} -m pipeline em summarize --config {params.cfg:q} --inputs {input.runs} {input.newton} "
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
    threads: 1
    shell:
        "{PY} -m pipeline em plot --figure {wildcards.figure} --input {input.runs} "
        "--output {output} > {log} 2>&1"


FINAL_OUTPUTS.extend(
    ["results/em/summary.parquet"]
    + expand("results/em/figures/{figure}.png", figure=EM_FIGURES)
)
