# Functions of workflow/rules/energy.smk (kept apart: snakemake --lint wants rule files without functions).


def energy_image_cfg(wc):
    return canon(ENERGY_DATASETS[wc.dataset])


def energy_image_gpu(wc):
    return int(ENERGY_DATASETS[wc.dataset].get("train", {}).get("device") == "cuda")


def energy_models(wc):
    return expand(
        "results/energy/image_ebm/{dataset}/seed{seed}/model.pt",
        dataset=wc.dataset,
        seed=ENERGY_SEEDS,
    )
