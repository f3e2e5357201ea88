# Functions of workflow/rules/images.smk (kept apart: snakemake --lint wants rule files without functions).


def get_images_section(wc, *keys):
    """One dataset's sub-section, as the canonical JSON string a rule passes to its verb."""
    section = IMAGES["datasets"][wc.dataset]
    for key in keys:
        section = section[key]
    return canon(section)


def get_images_gpu(wc, key):
    """resources: gpu=1 only when the config asks for CUDA explicitly."""
    section = IMAGES["datasets"][wc.dataset][key]
    device = section["device"] if key == "evaluate" else section["train"]["device"]
    return int(device == "cuda")


def get_images_sources(wc):
    """The mirror files a dataset reads (so that replacing one reruns the rule)."""
    data = IMAGES["datasets"][wc.dataset]["data"]
    if not data.get("local_mirror"):
        return []
    paths = [
        Path(data["local_mirror"]) / name for name in data.get("files", {}).values()
    ]
    return [str(p) for p in paths if p.is_file()]
