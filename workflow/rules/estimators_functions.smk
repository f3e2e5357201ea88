# Functions of workflow/rules/estimators.smk (kept apart: snakemake --lint wants rule files without functions).


def est_variant_cfg(wc):
    return canon(EST_DVAE[wc.dataset]["variants"][wc.variant])


def est_models(wc):
    return {
        v: f"results/estimators/{wc.dataset}/dvae/{v}/model.pt"
        for v in EST_DVAE[wc.dataset]["variants"]
    }


def est_gpu(device):
    return int(device == "cuda")
