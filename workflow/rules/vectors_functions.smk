# Functions of workflow/rules/vectors.smk (kept apart: snakemake --lint wants rule files without functions).


def vec_methods(*allowed):
    return [m for m in VEC["methods"] if not allowed or m in allowed]


def vec_vectors(corpus, methods):
    return [f"results/vectors/{corpus}/{m}/vectors.kv" for m in methods]


def vec_cooccur(section):
    return f"results/text/{{corpus}}/cooccur/{VEC[section]['weighting']}.parquet"


def vec_gpu(section):
    return 1 if VEC[section]["device"] == "cuda" else 0


def vec_eval_files(wildcards):
    sets = VEC["evaluate"]["analogies"] + VEC["evaluate"]["similarity"]
    return [s["path"] for s in sets if not s["path"].startswith("gensim:")]


def vec_shards(wildcards):
    n = config["text"]["corpora"][wildcards.corpus]["shards"]
    return [
        f"results/text/{wildcards.corpus}/shards/shard-{k}.parquet" for k in range(n)
    ]


def vec_summary_tables(wildcards):
    c = wildcards.corpus
    tables = [f"results/vectors/{c}/{m}/intrinsic.parquet" for m in vec_methods()]
    tables.append(f"results/vectors/{c}/norms/norms.parquet")
    if "glove" in VEC["methods"]:
        tables.append(f"results/vectors/{c}/ill_posedness/ill_posedness.parquet")
    if VEC["adagrad_comparison"]["enabled"]:
        tables.append(f"results/vectors/{c}/adagrad/adagrad.parquet")
    if VEC["sentiment"]["enabled"]:
        tables.append(f"results/vectors/{c}/sentiment/sentiment.parquet")
    if any(m in VEC_TORCH for m in VEC["methods"]):
        tables.append(f"results/vectors/{c}/examples/scores.parquet")
    return tables
