# Text domain: corpus -> token-id shards -> vocabulary -> co-occurrence counts (pipeline/text/).


wildcard_constraints:
    corpus=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    shard=r"\d+",
    weighting=r"unit|harmonic",


TEXT_CODE = {
    "corpus": ["text/cli.py", "text/corpus.py", "text/sources.py", "text/tokenize.py"],
    "vocab": ["text/cli.py", "text/vocab.py"],
    "cooccur": [
        "text/cli.py",
        "text/cooccur.py",
        "text/kernels.py",
        "text/shards.py",
        "text/vocab.py",
    ],
    "stats": ["text/cli.py", "text/stats.py"],
}


rule text_fetch_source:
    output:
        "resources/text/{corpus}/{filename}",
    log:
        "results/logs/text_fetch_source/{corpus}/{filename}.log",
    conda:
        CONDA_ENV
    params:
        url=lambda wc: get_corpus(wc)["url"],
        sha256=lambda wc: get_corpus(wc)["sha256"] or "",
    shell:
        "$PIPELINE_PYTHON -m pipeline text fetch-source --url {params.url:q} --sha256={params.sha256:q} "
        "--output {output:q} > {log} 2>&1"


rule text_prepare_corpus:
    input:
        source=get_corpus_source,
        code=pkg_files(*TEXT_CODE["corpus"]),
    output:
        shards=directory("results/text/{corpus}/shards"),
        types="results/text/{corpus}/types.parquet",
        stats="results/text/{corpus}/corpus_stats.json",
    log:
        "results/logs/text_prepare_corpus/{corpus}.log",
    benchmark:
        "results/benchmarks/text_prepare_corpus/{corpus}.tsv"
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=1000,
    params:
        cfg=get_corpus_params,
        sha256=lambda wc: get_corpus(wc)["sha256"] or "",
        versions=lib_versions("gensim", "jieba", "opencc", "pyarrow"),
    shell:
        "$PIPELINE_PYTHON -m pipeline text prepare-corpus --config {params.cfg:q} --source {input.source:q} "
        "--sha256={params.sha256:q} --shards-dir {output.shards} --types {output.types} "
        "--stats {output.stats} --threads {threads} --corpus {wildcards.corpus} > {log} 2>&1"


rule text_build_vocabulary:
    input:
        types=rules.text_prepare_corpus.output.types,
        code=pkg_files(*TEXT_CODE["vocab"]),
    output:
        "results/text/{corpus}/vocab.parquet",
    log:
        "results/logs/text_build_vocabulary/{corpus}.log",
    conda:
        CONDA_ENV
    params:
        cfg=lambda wc: canon(get_corpus(wc)["vocab"]),
        versions=lib_versions("pyarrow", "numpy"),
    shell:
        "$PIPELINE_PYTHON -m pipeline text build-vocabulary --config {params.cfg:q} --types {input.types} "
        "--output {output} > {log} 2>&1"


rule text_count_cooccurrences:
    input:
        shards=rules.text_prepare_corpus.output.shards,
        types=rules.text_prepare_corpus.output.types,
        vocab=rules.text_build_vocabulary.output,
        code=pkg_files(*TEXT_CODE["cooccur"]),
    output:
        "results/text/{corpus}/cooccur/{weighting}/part-{shard}.csr",
    log:
        "results/logs/text_count_cooccurrences/{corpus}/{weighting}/{shard}.log",
    benchmark:
        "results/benchmarks/text_count_cooccurrences/{corpus}/{weighting}/{shard}.tsv"
    conda:
        CONDA_ENV
    resources:
        mem_mb=lambda wc: get_corpus(wc)["cooccur"]["max_memory_mb"] + 500,
    params:
        cfg=get_cooccur_params,
        versions=lib_versions("numpy", "scipy", "pyarrow", "numba", "torch"),
    shell:
        "$PIPELINE_PYTHON -m pipeline text count-cooccurrences --config {params.cfg:q} "
        "--weighting {wildcards.weighting} --shard {input.shards}/shard-{wildcards.shard}.parquet "
        "--types {input.types} --vocab {input.vocab} --output {output} > {log} 2>&1"


rule text_merge_cooccurrences:
    input:
        parts=get_cooccur_parts,
        vocab=rules.text_build_vocabulary.output,
        code=pkg_files(*TEXT_CODE["cooccur"]),
    output:
        table="results/text/{corpus}/cooccur/{weighting}.parquet",
        stats="results/text/{corpus}/cooccur/{weighting}.stats.json",
    log:
        "results/logs/text_merge_cooccurrences/{corpus}/{weighting}.log",
    benchmark:
        "results/benchmarks/text_merge_cooccurrences/{corpus}/{weighting}.tsv"
    conda:
        CONDA_ENV
    threads: 2  # one sums row blocks while the other writes the previous block
    resources:
        mem_mb=lambda wc: get_corpus(wc)["cooccur"]["max_memory_mb"] + 500,
    params:
        cfg=get_cooccur_params,
        versions=lib_versions("numpy", "scipy", "pyarrow", "numba"),
    shell:
        "$PIPELINE_PYTHON -m pipeline text merge-cooccurrences --config {params.cfg:q} "
        "--vocab {input.vocab} --parts {input.parts} --output {output.table} "
        "--stats {output.stats} > {log} 2>&1"


rule text_report_corpus:
    input:
        corpus_stats=rules.text_prepare_corpus.output.stats,
        types=rules.text_prepare_corpus.output.types,
        vocab=rules.text_build_vocabulary.output,
        cooccur_stats=get_cooccur_stats,
        code=pkg_files(*TEXT_CODE["stats"]),
    output:
        table="results/text/{corpus}/stats/statistics.parquet",
        html=report(
            "results/text/{corpus}/stats/statistics.html",
            caption="../report/text_statistics.rst",
            category="Word vectors",
            subcategory="Corpus {corpus}",
            labels={"corpus": "{corpus}", "figure": "statistics"},
        ),
        zipf=report(
            "results/text/{corpus}/stats/zipf.png",
            caption="../report/text_zipf.rst",
            category="Word vectors",
            subcategory="Corpus {corpus}",
            labels={"corpus": "{corpus}", "figure": "Zipf plot"},
        ),
    log:
        "results/logs/text_report_corpus/{corpus}.log",
    conda:
        CONDA_ENV
    params:
        versions=lib_versions("matplotlib", "pandas"),
    shell:
        "$PIPELINE_PYTHON -m pipeline text report-corpus --corpus {wildcards.corpus} "
        "--corpus-stats {input.corpus_stats} --types {input.types} --vocab {input.vocab} "
        "--cooccur-stats {input.cooccur_stats} --table {output.table} --html {output.html} "
        "--zipf {output.zipf} > {log} 2>&1"


FINAL_OUTPUTS.extend(
    f"results/text/{name}/stats/{what}"
    for name in config["text"]["corpora"]
    for what in ("statistics.parquet", "statistics.html", "zipf.png")
)
FINAL_OUTPUTS.extend(
    f"results/text/{name}/cooccur/{w}.parquet"
    for name, c in config["text"]["corpora"].items()
    for w in c["cooccur"]["weightings"]
)
