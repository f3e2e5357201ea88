# Rules of the transport domain (see pipeline/transport/): post 5 (从Wasserstein距离、对偶理论到WGAN),
# posts.md §5.3. E5.1-E5.3 and Farkas: one exact LP study per rule; E5.4: the critic study, one job
# per seed; E5.5: WGAN per (mixture | image dataset, recipe, seed), the image runs on the images
# track's data and classifier. transport_combine joins every table into results/transport/results.parquet
# (the one the ledger reads), transport_plot draws the report figures.


include: "transport_functions.smk"


TRANSPORT = config["transport"]
TR_SEEDS = TRANSPORT["seeds"]
TR_TOY = TRANSPORT["wgan_toy"]
TR_IMG = TRANSPORT["wgan_images"]
TR_STUDIES = {  # rule suffix -> (verb, config section)
    "lp_duality": ("lp-duality", "lp"),
    "farkas": ("farkas", "farkas"),
    "weak_duality": ("weak-duality", "weak_duality"),
    "restriction": ("restriction", "restriction"),
}
TR_CODE = ["transport/__init__.py", "transport/cli.py", "transport/experiments.py"]
TR_LP = ["transport/lp.py", "transport/farkas.py"]
TR_TORCH = [
    "transport/critics.py",
    "transport/mixtures.py",
    "transport/wgan_runs.py",
    "images/wgan.py",
    "images/metrics.py",
]
TR_VERSIONS = lib_versions("numpy", "scipy", "pot", "torch")
TR_WILDCARD = "[A-Za-z0-9][A-Za-z0-9_-]*"
TR_TOY_RUNS = expand(
    "{dataset}/{variant}/seed{seed}",
    dataset=TR_TOY["datasets"],
    variant=TR_TOY["variants"],
    seed=TR_TOY["seeds"],
)
TR_IMG_RUNS = expand(
    "{dataset}/{variant}/seed{seed}",
    dataset=TR_IMG["datasets"],
    variant=TR_IMG["variants"],
    seed=TR_IMG["seeds"],
)
TR_FIGURES = ["lp_gaps", "weak_duality", "restriction", "critics", "wgan_curves"]
TR_SAMPLE_FIGURES = {
    "toy_samples": ("wgan_toy", TR_TOY_RUNS),
    "image_samples": ("wgan_images", TR_IMG_RUNS),
}


for _rule, (_verb, _section) in TR_STUDIES.items():

    rule:
        name:
            f"transport_{_rule}"
        input:
            code=pkg_files(*TR_CODE, *TR_LP, *TR_TORCH),
        output:
            f"results/transport/{_rule}.parquet",
        log:
            f"results/logs/transport_{_rule}/run.log",
        benchmark:
            f"results/benchmarks/transport_{_rule}/run.tsv"
        conda:
            CONDA_ENV
        threads: TRANSPORT["threads"]
        params:
            cfg=canon(TRANSPORT[_section]),
            versions=TR_VERSIONS,
            verb=_verb,
            seed=TR_SEEDS[0],
        shell:
            "$PIPELINE_PYTHON -m pipeline transport {params.verb} --config {params.cfg:q} --seed {params.seed} "
            "--threads {threads} --output {output} > {log} 2>&1"


rule transport_critics:
    input:
        code=pkg_files(*TR_CODE, *TR_LP, *TR_TORCH),
    output:
        "results/transport/critics/seed{seed}.parquet",
    log:
        "results/logs/transport_critics/seed{seed}.log",
    benchmark:
        "results/benchmarks/transport_critics/seed{seed}.tsv"
    conda:
        CONDA_ENV
    threads: TRANSPORT["threads"]
    params:
        cfg=canon(TRANSPORT["critics"]),
        versions=TR_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline transport critics --config {params.cfg:q} --seed {wildcards.seed} "
        "--threads {threads} --output {output} > {log} 2>&1"


rule transport_wgan_toy:
    input:
        code=pkg_files(*TR_CODE, *TR_LP, *TR_TORCH, *ENGINE_CODE),
    output:
        table="results/transport/wgan_toy/{dataset}/{variant}/seed{seed}.parquet",
        samples="results/transport/wgan_toy/{dataset}/{variant}/seed{seed}_samples.npz",
    log:
        "results/logs/transport_wgan_toy/{dataset}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/transport_wgan_toy/{dataset}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        dataset=TR_WILDCARD,
        variant=TR_WILDCARD,
    conda:
        CONDA_ENV
    threads: TRANSPORT["threads"]
    params:
        cfg=canon(TR_TOY),
        versions=TR_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline transport wgan-toy --config {params.cfg:q} --dataset {wildcards.dataset} "
        "--variant {wildcards.variant} --seed {wildcards.seed} --threads {threads} "
        "--output {output.table} --samples {output.samples} > {log} 2>&1"


rule transport_wgan_images:
    input:
        data="results/images/{dataset}/data.npz",
        classifier="results/images/{dataset}/classifier/model.pt",
        code=pkg_files(
            *TR_CODE,
            *TR_LP,
            *TR_TORCH,
            *ENGINE_CODE,
            "images/classifier.py",
            "images/datasets.py",
            "images/loader.py",
        ),
    output:
        table="results/transport/wgan_images/{dataset}/{variant}/seed{seed}.parquet",
        samples="results/transport/wgan_images/{dataset}/{variant}/seed{seed}_samples.npz",
    log:
        "results/logs/transport_wgan_images/{dataset}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/transport_wgan_images/{dataset}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        dataset=TR_WILDCARD,
        variant=TR_WILDCARD,
    conda:
        CONDA_ENV
    threads: TRANSPORT["threads"]
    resources:
        gpu=int(TR_IMG["device"] == "cuda"),
    params:
        cfg=canon(TR_IMG),
        versions=TR_VERSIONS,
    shell:
        "$PIPELINE_PYTHON -m pipeline transport wgan-images --config {params.cfg:q} --dataset {wildcards.dataset} "
        "--variant {wildcards.variant} --seed {wildcards.seed} --threads {threads} "
        "--data {input.data} --classifier {input.classifier} "
        "--output {output.table} --samples {output.samples} > {log} 2>&1"


rule transport_combine:
    input:
        studies=expand("results/transport/{study}.parquet", study=TR_STUDIES),
        critics=expand("results/transport/critics/seed{seed}.parquet", seed=TR_SEEDS),
        toy=expand("results/transport/wgan_toy/{run}.parquet", run=TR_TOY_RUNS),
        images=expand("results/transport/wgan_images/{run}.parquet", run=TR_IMG_RUNS),
        code=pkg_files(*TR_CODE),
    output:
        table="results/transport/results.parquet",
        html=report(
            "results/transport/results.html",
            caption="../report/transport_results.rst",
            category="Post 5: Wasserstein, duality, WGAN",
            subcategory="tables",
            labels={"table": "all results"},
        ),
    log:
        "results/logs/transport_combine/combine.log",
    benchmark:
        "results/benchmarks/transport_combine/combine.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        cfg=canon({"seeds": TR_SEEDS}),
    shell:
        "$PIPELINE_PYTHON -m pipeline transport combine --config {params.cfg:q} "
        "--inputs {input.studies} {input.critics} {input.toy} {input.images} "
        "--output {output.table} --html {output.html} > {log} 2>&1"


rule transport_plot:
    input:
        table="results/transport/results.parquet",
        samples=tr_samples,
        code=pkg_files(*TR_CODE, "transport/figures.py", "transport/mixtures.py"),
    output:
        report(
            "results/transport/figures/{figure}.png",
            caption="../report/transport_figure.rst",
            category="Post 5: Wasserstein, duality, WGAN",
            subcategory="figures",
            labels={"figure": "{figure}"},
        ),
    log:
        "results/logs/transport_plot/{figure}.log",
    benchmark:
        "results/benchmarks/transport_plot/{figure}.tsv"
    wildcard_constraints:
        figure="|".join(TR_FIGURES + list(TR_SAMPLE_FIGURES)),
    conda:
        CONDA_ENV
    threads: 1
    params:
        names=tr_sample_names,
    shell:
        "$PIPELINE_PYTHON -m pipeline transport plot --figure {wildcards.figure} --input {input.table} "
        "--samples {input.samples} --names {params.names} --output {output} > {log} 2>&1"


declare_results(
    "results/transport/results.parquet",
    {
        "E5.1": [
            "primal",
            "dual",
            "primal_dual_gap_rel",
            "emd2",
            "primal_vs_pot_rel",
            "primal_vs_closed_form_rel",
        ],
        "farkas": [
            "plan_found",
            "certificate_found",
            "exactly_one",
            "correct_alternative",
            "certificate_violation",
            "plan_residual",
        ],
        "E5.2": ["gap_rel", "primal"],
        "E5.3": [
            "full_dual",
            "restricted_dual",
            "restricted_gap_rel",
            "lipschitz_constant",
            "restricted_over_full",
        ],
        "E5.4": [
            "w1",
            "estimate_train",
            "estimate_test",
            "ratio_to_truth",
            "max_grad_norm",
            "ratio_to_truth_rescaled",
            "batch_estimate",
        ],
        "E5.5": [
            "w1_exact",
            "critic_estimate",
            "modes_covered",
            "high_quality_fraction",
            "frechet_distance",
            "w1_exact_final",
            "critic_estimate_final",
            "modes_covered_final",
            "high_quality_fraction_final",
            "frechet_distance_final",
            "w1_exact_floor",
            "frechet_distance_floor",
            "spearman_estimate_vs_quality",
        ],
    },
)

FINAL_OUTPUTS.extend(
    ["results/transport/results.parquet"]
    + expand(
        "results/transport/figures/{figure}.png",
        figure=TR_FIGURES + list(TR_SAMPLE_FIGURES),
    )
)
