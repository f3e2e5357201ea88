# Reproductions of eight Scientific Spaces (kexue.fm) posts. See README.md.
from snakemake.utils import min_version

min_version("9.27")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/text.smk"
include: "workflow/rules/vectors.smk"
include: "workflow/rules/em.smk"
include: "workflow/rules/images.smk"
include: "workflow/rules/estimators.smk"
include: "workflow/rules/energy.smk"
include: "workflow/rules/dynamics.smk"
include: "workflow/rules/transport.smk"
include: "workflow/rules/ledger.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
