# Functions of workflow/rules/em.smk (kept apart: snakemake --lint wants rule files without functions).


def em_cfg(section):
    """One run's config: its own section plus the shared backend and device."""
    return canon({**EM[section], "backend": EM["backend"], "device": EM["device"]})
