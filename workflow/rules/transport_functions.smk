# Functions of workflow/rules/transport.smk (kept apart: snakemake --lint wants rule files without functions).


def tr_samples(wc):
    folder, runs = TR_SAMPLE_FIGURES.get(wc.figure, ("", []))
    return [f"results/transport/{folder}/{run}_samples.npz" for run in runs]


def tr_sample_names(wc):
    runs = TR_SAMPLE_FIGURES.get(wc.figure, ("", []))[1]
    return " ".join(run.rpartition("/")[0] for run in runs)
