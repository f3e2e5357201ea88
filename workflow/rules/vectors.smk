# Vectors domain: simpler GloVe, GloVe and gensim baselines, and their evaluations
# (pipeline/vectors/). Every method ends as results/vectors/{corpus}/{method}/vectors.kv.


include: "vectors_functions.smk"


VEC = config["vectors"]
VEC_CORPUS = VEC["corpus"]
VEC_TORCH = ["simpler_glove_trunc", "simpler_glove_notrunc", "glove"]
VEC_CODE = {
    "simpler_glove": [
        "vectors/cli.py",
        "vectors/io.py",
        "vectors/keyed.py",
        "vectors/cooccurrence.py",
        "vectors/adagrad.py",
        "vectors/training.py",
        "vectors/strata.py",
        "vectors/cellwise.py",
        "vectors/figures.py",
        "vectors/simpler_glove.py",
    ],
    "glove": [
        "vectors/cli.py",
        "vectors/io.py",
        "vectors/keyed.py",
        "vectors/cooccurrence.py",
        "vectors/adagrad.py",
        "vectors/training.py",
        "vectors/strata.py",
        "vectors/cellwise.py",
        "vectors/figures.py",
        "vectors/glove.py",
    ],
    "gensim": [
        "vectors/cli.py",
        "vectors/io.py",
        "vectors/keyed.py",
        "vectors/gensim_models.py",
        "text/shards.py",
    ],
    "evaluate": ["vectors/cli.py", "vectors/io.py", "vectors/evaluation.py"],
    "analysis": [
        "vectors/cli.py",
        "vectors/io.py",
        "vectors/analysis.py",
        "vectors/author.py",
        "vectors/figures.py",
        "text/tokenize.py",
    ],
    "sentiment": [
        "vectors/cli.py",
        "vectors/io.py",
        "vectors/sentiment.py",
        "text/tokenize.py",
    ],
}

if VEC_CORPUS not in config["text"]["corpora"]:
    raise ValueError(f"vectors.corpus: {VEC_CORPUS!r} is not a name under text.corpora")


wildcard_constraints:
    method=r"[a-z_]+",


rule vectors_train_simpler_glove:
    input:
        vocab="results/text/{corpus}/vocab.parquet",
        cooccur=vec_cooccur("simpler_glove"),
        code=pkg_files(*VEC_CODE["simpler_glove"]),
    output:
        vectors="results/vectors/{corpus}/{method}/vectors.kv",
        history="results/vectors/{corpus}/{method}/history.parquet",
    log:
        "results/logs/vectors_train_simpler_glove/{corpus}/{method}.log",
    benchmark:
        "results/benchmarks/vectors_train_simpler_glove/{corpus}/{method}.tsv"
    wildcard_constraints:
        method="simpler_glove_trunc|simpler_glove_notrunc",
    conda:
        CONDA_ENV
    threads: VEC["threads"]
    resources:
        gpu=vec_gpu("simpler_glove"),
    params:
        cfg=lambda wc: canon(VEC["simpler_glove"]),
        seed=VEC["seed"],
        versions=lib_versions("torch", "gensim", "numpy"),
    shell:
        "$PIPELINE_PYTHON -m pipeline vectors train-simpler-glove --config {params.cfg:q} "
        "--corpus {wildcards.corpus} --method {wildcards.method} --seed {params.seed} "
        "--threads {threads} --vocab {input.vocab} --cooccur {input.cooccur} "
        "--output {output.vectors} --history {output.history} > {log} 2>&1"


rule vectors_train_glove:
    input:
        vocab="results/text/{corpus}/vocab.parquet",
        cooccur=vec_cooccur("glove"),
        code=pkg_files(*VEC_CODE["glove"]),
    output:
        vectors="results/vectors/{corpus}/glove/vectors.kv",
        history="results/vectors/{corpus}/glove/history.parquet",
        params="results/vectors/{corpus}/glove/params.pt",
    log:
        "results/logs/vectors_train_glove/{corpus}.log",
    benchmark:
        "results/benchmarks/vectors_train_glove/{corpus}.tsv"
    conda:
        CONDA_ENV
    threads: VEC["threads"]
    resources:
        gpu=vec_gpu("glove"),
    params:
        cfg=lambda wc: canon(VEC["glove"]),
        seed=VEC["seed"],
        versions=lib_versions("torch", "gensim", "numpy"),
    shell:
        "$PIPELINE_PYTHON -m pipeline vectors train-glove --config {params.cfg:q} --corpus {wildcards.corpus} "
        "--method glove --seed {params.seed} --threads {threads} --vocab {input.vocab} "
        "--cooccur {input.cooccur} --output {output.vectors} --history {output.history} "
        "--params {output.params} > {log} 2>&1"


rule vectors_train_gensim:
    input:
        vocab="results/text/{corpus}/vocab.parquet",
        types="results/text/{corpus}/types.parquet",
        shards="results/text/{corpus}/shards",
        code=pkg_files(*VEC_CODE["gensim"]),
    output:
        "results/vectors/{corpus}/{method}/vectors.kv",
    log:
        "results/logs/vectors_train_gensim/{corpus}/{method}.log",
    benchmark:
        "results/benchmarks/vectors_train_gensim/{corpus}/{method}.tsv"
    wildcard_constraints:
        method="sg|cbow|fasttext",
    conda:
        CONDA_ENV
    threads: VEC["threads"]
    params:
        cfg=lambda wc: canon(VEC["gensim"]),
        seed=VEC["seed"],
        shards=vec_shards,
        versions=lib_versions("gensim", "numpy"),
    shell:
        "$PIPELINE_PYTHON -m pipeline vectors train-gensim --config {params.cfg:q} "
        "--method {wildcards.method} --seed {params.seed} --threads {threads} "
        "--vocab {input.vocab} --types {input.types} --shards {params.shards} "
        "--output {output} > {log} 2>&1"


rule vectors_export_word2vec:
    input:
        vectors="results/vectors/{corpus}/{method}/vectors.kv",
        code=pkg_files("vectors/cli.py", "vectors/io.py"),
    output:
        "results/vectors/{corpus}/{method}/vectors.txt",
    log:
        "results/logs/vectors_export_word2vec/{corpus}/{method}.log",
    conda:
        CONDA_ENV
    shell:
        "$PIPELINE_PYTHON -m pipeline vectors export-word2vec --vectors {input.vectors} "
        "--output {output} > {log} 2>&1"


rule vectors_evaluate:
    input:
        vectors="results/vectors/{corpus}/{method}/vectors.kv",
        files=vec_eval_files,
        code=pkg_files(*VEC_CODE["evaluate"]),
    output:
        "results/vectors/{corpus}/{method}/intrinsic.parquet",
    log:
        "results/logs/vectors_evaluate/{corpus}/{method}.log",
    benchmark:
        "results/benchmarks/vectors_evaluate/{corpus}/{method}.tsv"
    conda:
        CONDA_ENV
    params:
        cfg=lambda wc: canon(VEC["evaluate"]),
        seed=VEC["seed"],
        versions=lib_versions("gensim", "scipy", "torch"),
    shell:
        "$PIPELINE_PYTHON -m pipeline vectors evaluate --config {params.cfg:q} --corpus {wildcards.corpus} "
        "--method {wildcards.method} --seed {params.seed} --vectors {input.vectors} "
        "--files {input.files} --output {output} > {log} 2>&1"


rule vectors_analyse_norms:
    input:
        vectors=lambda wc: vec_vectors(wc.corpus, vec_methods()),
        code=pkg_files(*VEC_CODE["analysis"]),
    output:
        table="results/vectors/{corpus}/norms/norms.parquet",
        smallest="results/vectors/{corpus}/norms/smallest.parquet",
        smallest_tsv="results/vectors/{corpus}/norms/smallest.tsv",
        smallest_tsv_html=report(
            "results/vectors/{corpus}/norms/smallest.html",
            caption="../report/vectors_smallest.rst",
            category="Word vectors",
            subcategory="Norms {corpus}",
            labels={"corpus": "{corpus}", "table": "smallest norms"},
        ),
        figure=report(
            "results/vectors/{corpus}/norms/norms.png",
            caption="../report/vectors_norms.rst",
            category="Word vectors",
            subcategory="Norms {corpus}",
            labels={"corpus": "{corpus}", "figure": "norm vs -log P"},
        ),
    log:
        "results/logs/vectors_analyse_norms/{corpus}.log",
    conda:
        CONDA_ENV
    params:
        cfg=lambda wc: canon(VEC["norms"]),
        methods=vec_methods(),
        seed=VEC["seed"],
        versions=lib_versions("gensim", "scipy", "matplotlib"),
    shell:
        "$PIPELINE_PYTHON -m pipeline vectors analyse-norms --config {params.cfg:q} --corpus {wildcards.corpus} "
        "--seed {params.seed} --methods {params.methods} --vectors {input.vectors} "
        "--output {output.table} --smallest {output.smallest} "
        "--smallest-tsv {output.smallest_tsv} --figure {output.figure} > {log} 2>&1"


rule vectors_check_ill_posedness:
    input:
        params="results/vectors/{corpus}/glove/params.pt",
        vocab="results/text/{corpus}/vocab.parquet",
        cooccur=vec_cooccur("glove"),
        code=pkg_files(*VEC_CODE["glove"], "vectors/figures.py"),
    output:
        table="results/vectors/{corpus}/ill_posedness/ill_posedness.parquet",
        figure=report(
            "results/vectors/{corpus}/ill_posedness/cosine.png",
            caption="../report/vectors_ill_posedness.rst",
            category="Word vectors",
            subcategory="GloVe {corpus}",
            labels={"corpus": "{corpus}", "figure": "ill-posedness"},
        ),
    log:
        "results/logs/vectors_check_ill_posedness/{corpus}.log",
    conda:
        CONDA_ENV
    params:
        cfg=lambda wc: canon(VEC["ill_posedness"]),
        seed=VEC["seed"],
        versions=lib_versions("torch", "matplotlib"),
    shell:
        "$PIPELINE_PYTHON -m pipeline vectors check-ill-posedness --config {params.cfg:q} "
        "--corpus {wildcards.corpus} --seed {params.seed} --params {input.params} "
        "--vocab {input.vocab} --cooccur {input.cooccur} --output {output.table} "
        "--figure {output.figure} > {log} 2>&1"


rule vectors_find_examples:
    input:
        vectors=lambda wc: vec_vectors(wc.corpus, vec_methods(*VEC_TORCH)),
        code=pkg_files(*VEC_CODE["analysis"]),
    output:
        table="results/vectors/{corpus}/examples/examples.parquet",
        tsv="results/vectors/{corpus}/examples/examples.tsv",
        tsv_html=report(
            "results/vectors/{corpus}/examples/examples.html",
            caption="../report/vectors_examples.rst",
            category="Word vectors",
            subcategory="Examples {corpus}",
            labels={
                "corpus": "{corpus}",
                "table": "keywords, similar words, analogies",
            },
        ),
        scores="results/vectors/{corpus}/examples/scores.parquet",
    log:
        "results/logs/vectors_find_examples/{corpus}.log",
    conda:
        CONDA_ENV
    params:
        cfg=lambda wc: canon(VEC["examples"]),
        methods=vec_methods(*VEC_TORCH),
        seed=VEC["seed"],
        versions=lib_versions("gensim", "numpy", "jieba"),
    shell:
        "$PIPELINE_PYTHON -m pipeline vectors find-examples --config {params.cfg:q} "
        "--corpus {wildcards.corpus} --seed {params.seed} "
        "--methods {params.methods} --vectors {input.vectors} --output {output.table} "
        "--tsv {output.tsv} --scores {output.scores} > {log} 2>&1"


rule vectors_compare_adagrad:
    input:
        vocab="results/text/{corpus}/vocab.parquet",
        cooccur=vec_cooccur("simpler_glove"),
        code=pkg_files(*VEC_CODE["simpler_glove"], "vectors/figures.py"),
    output:
        table="results/vectors/{corpus}/adagrad/adagrad.parquet",
        figure=report(
            "results/vectors/{corpus}/adagrad/losses.png",
            caption="../report/vectors_adagrad.rst",
            category="Word vectors",
            subcategory="Adagrad {corpus}",
            labels={"corpus": "{corpus}", "figure": "lagged vs standard"},
        ),
    log:
        "results/logs/vectors_compare_adagrad/{corpus}.log",
    benchmark:
        "results/benchmarks/vectors_compare_adagrad/{corpus}.tsv"
    conda:
        CONDA_ENV
    threads: VEC["threads"]
    resources:
        gpu=vec_gpu("simpler_glove"),
    params:
        cfg=lambda wc: canon(VEC["adagrad_comparison"]),
        model=lambda wc: canon(VEC["simpler_glove"]),
        seed=VEC["seed"],
        versions=lib_versions("torch", "numpy"),
    shell:
        "$PIPELINE_PYTHON -m pipeline vectors compare-adagrad --config {params.cfg:q} "
        "--model-config {params.model:q} "
        "--corpus {wildcards.corpus} --seed {params.seed} --threads {threads} "
        "--vocab {input.vocab} --cooccur {input.cooccur} --output {output.table} "
        "--figure {output.figure} > {log} 2>&1"


rule vectors_classify_sentiment:
    input:
        vectors=lambda wc: vec_vectors(wc.corpus, VEC["sentiment"]["methods"]),
        pos=VEC["sentiment"]["pos"] or "missing: vectors.sentiment.pos",
        neg=VEC["sentiment"]["neg"] or "missing: vectors.sentiment.neg",
        code=pkg_files(*VEC_CODE["sentiment"]),
    output:
        "results/vectors/{corpus}/sentiment/sentiment.parquet",
    log:
        "results/logs/vectors_classify_sentiment/{corpus}.log",
    benchmark:
        "results/benchmarks/vectors_classify_sentiment/{corpus}.tsv"
    conda:
        CONDA_ENV
    threads: VEC["threads"]
    params:
        cfg=lambda wc: canon(VEC["sentiment"]),
        methods=VEC["sentiment"]["methods"],
        seed=VEC["seed"],
        versions=lib_versions("torch", "scikit-learn", "jieba", "xlrd"),
    shell:
        "$PIPELINE_PYTHON -m pipeline vectors classify-sentiment --config {params.cfg:q} "
        "--corpus {wildcards.corpus} --seed {params.seed} --threads {threads} "
        "--methods {params.methods} --vectors {input.vectors} --pos {input.pos:q} "
        "--neg {input.neg:q} --output {output} > {log} 2>&1"


rule vectors_check_pmi_additivity:
    input:
        code=pkg_files("vectors/cli.py", "vectors/pmi.py"),
    output:
        "results/vectors/pmi_additivity.parquet",
    log:
        "results/logs/vectors_check_pmi_additivity.log",
    conda:
        CONDA_ENV
    params:
        cfg=canon(VEC["pmi_additivity"]),
        versions=lib_versions("numpy", "pandas"),
    shell:
        "$PIPELINE_PYTHON -m pipeline vectors check-pmi-additivity --config {params.cfg:q} "
        "--output {output} > {log} 2>&1"


rule vectors_summarize:
    input:
        tables=vec_summary_tables,
        histories=lambda wc: [
            f"results/vectors/{wc.corpus}/{m}/history.parquet"
            for m in vec_methods(*VEC_TORCH)
        ],
        code=pkg_files(
            "vectors/cli.py",
            "vectors/io.py",
            "vectors/results.py",
            "vectors/figures.py",
        ),
        checks=rules.vectors_check_pmi_additivity.output,
    output:
        table="results/vectors/{corpus}/summary.parquet",
        tsv="results/vectors/{corpus}/summary.tsv",
        tsv_html=report(
            "results/vectors/{corpus}/summary.html",
            caption="../report/vectors_summary.rst",
            category="Word vectors",
            subcategory="Summary {corpus}",
            labels={"corpus": "{corpus}", "table": "analogy and similarity"},
        ),
        figure=report(
            "results/vectors/{corpus}/losses.png",
            caption="../report/vectors_losses.rst",
            category="Word vectors",
            subcategory="Summary {corpus}",
            labels={"corpus": "{corpus}", "figure": "training loss"},
        ),
        results="results/vectors/{corpus}/results.parquet",
        html=report(
            "results/vectors/{corpus}/results.html",
            caption="../report/vectors_results.rst",
            category="Post 7: word vectors",
            subcategory="Results {corpus}",
            labels={"corpus": "{corpus}", "table": "checklist rows E7.1-E7.9, C4"},
        ),
    log:
        "results/logs/vectors_summarize/{corpus}.log",
    conda:
        CONDA_ENV
    params:
        seed=VEC["seed"],
        versions=lib_versions("pandas", "matplotlib"),
    shell:
        "$PIPELINE_PYTHON -m pipeline vectors summarize --corpus {wildcards.corpus} --seed {params.seed} "
        "--tables {input.tables} --histories {input.histories} --checks {input.checks} "
        "--output {output.table} --tsv {output.tsv} --figure {output.figure} "
        "--results {output.results} --html {output.html} > {log} 2>&1"


FINAL_OUTPUTS.extend(
    f"results/vectors/{VEC_CORPUS}/{name}"
    for name in ("summary.parquet", "summary.html", "losses.png", "results.html")
)
declare_results(
    f"results/vectors/{VEC_CORPUS}/results.parquet",
    {
        "E7.1": ["max_abs_gap", "mean_abs_gap_sampled"],
        "E7.2": [
            "max_relative_loss_change",
            "mean_pairwise_cosine_unshifted",
            "mean_pairwise_cosine_largest_shift",
        ],
        "E7.3": [
            "spearman_sqnorm_vs_neglogp",
            "function_word_share_smallest",
            "norm_rank_top2_frequent",
            "author_overlap_smallest",
            "top2_norm_rank_gain_truncation",
        ],
        "E7.4": ["stopword_norm_ratio"],
        "E7.5": [
            "author_first_in_top6_count",
            "author_queries",
            "author_queries_missing_words",
        ]
        + sorted(
            {"analogy_accuracy_google"}  # C4 reads the English reference run's
            | {f"analogy_accuracy_{s['name']}" for s in VEC["evaluate"]["analogies"]}
        ),
        "E7.6": [
            "keyword_sentences_empty",
            "keyword_author_overlap_top",
            "keyword_author_overlap_bottom",
        ],
        "E7.7": sorted(
            {
                f"pos_agreement_N{n}"
                for n in [10000, 500, *VEC["examples"]["context_sizes"]]
            }
        ),
        "E7.8": ["token_coverage"]
        + [
            f"{m}_{split}"
            for m in (
                "lr_val_accuracy",
                "mlp_best_val_accuracy",
                "bilstm_best_val_accuracy",
            )
            for split in ("author", "dedup")
        ],
        "E7.9": [
            "final_loss",
            "nonfinite_pairs_skipped",
            "nonfinite_vector_entries",
            "relative_gram_change_scaled",
            "scaled_loss_path_change",
            "scaled_pairs_skipped",
        ],
        "C4": ["final_loss", "loss_ratio_last_first", "pairs_skipped"],
        "word_similarity": [
            f"spearman_{s['name']}" for s in VEC["evaluate"]["similarity"]
        ],
    },
)
FINAL_OUTPUTS.extend(
    f"results/vectors/{VEC_CORPUS}/norms/{name}"
    for name in ("smallest.html", "norms.png")
)
if any(m in VEC_TORCH for m in VEC["methods"]):
    FINAL_OUTPUTS.append(f"results/vectors/{VEC_CORPUS}/examples/examples.html")
if "glove" in VEC["methods"]:
    FINAL_OUTPUTS.append(f"results/vectors/{VEC_CORPUS}/ill_posedness/cosine.png")
if VEC["adagrad_comparison"]["enabled"]:
    FINAL_OUTPUTS.append(f"results/vectors/{VEC_CORPUS}/adagrad/losses.png")
if VEC["word2vec_text"]:
    FINAL_OUTPUTS.extend(
        f"results/vectors/{VEC_CORPUS}/{m}/vectors.txt" for m in VEC["methods"]
    )
