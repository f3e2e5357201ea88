# Two commands do everything on a fresh machine (see README.md):
#   make run    set up .venv, run the whole DAG on the default config (CPU, offline), write the report
#   make test   set up .venv, run the test suite
#   make reproduce  the reference runs that fit a CPU, collected into the ledger of record (hours)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= 2
STAMP  := $(VENV)/.installed

.PHONY: setup run report reproduce test lint bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --cores $(CORES) --report results/report.html

report: $(STAMP)
	$(BIN)/snakemake --report results/report.html

# The ledger of record (README "Reproducing the ledger"): every reference configuration that
# fits a CPU machine, each run and then collected into results/reference/<name>/ at reference
# scale (only the paths it writes at that scale), then the default run, the ledger and the report.
# Not run by CI: about 3 hours on 2 cores (docs/BENCHMARKS.md). A reference run:
#   $(call reference_run,<name>,<config file>,<results globs>,<targets>)
define reference_run
	$(BIN)/snakemake --cores $(CORES) $(4) --configfile config/$(2)
	$(BIN)/python -m pipeline ledger collect results --into results/reference/$(1) --label $(1) \
		--scale reference $(foreach p,$(3),--pattern '$(p)')

endef

reproduce: $(STAMP)
	$(call reference_run,en-reference,en-reference.yaml,text/enwiki2015/**/*.parquet vectors/enwiki2015/**/*.parquet,)
	$(call reference_run,zh-reference,zh-reference.yaml,text/xwlb/**/*.parquet vectors/xwlb/**/*.parquet,)
	$(call reference_run,em-reference,em-reference.yaml,em/**/*.parquet,results/em/summary.parquet)
	$(call reference_run,images-reference,images-reference.yaml,images/fashion_mnist/**/*.parquet,results/images/fashion_mnist/vqvae/metrics.parquet)
	$(call reference_run,estimators-reference,estimators-reference.yaml,estimators/mnist/**/*.parquet,results/estimators/mnist/dvae/metrics.parquet results/estimators/mnist/figures/dvae_elbo.png results/estimators/mnist/figures/dvae_samples.png)
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --cores $(CORES) --report results/report.html

test: $(STAMP)
	$(BIN)/ruff check pipeline tests benchmarks
	$(BIN)/ruff format --check pipeline tests benchmarks
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests benchmarks
	$(BIN)/ruff format --check pipeline tests benchmarks
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint

# Every side-by-side benchmark (ours and its peer in one process each) in one report:
# results/benchmarks/bench-$(BENCH_SIZE).json and .md, with ratios, targets, CPU model, cores, load,
# commit and versions (docs/BENCHMARKS.md "make bench"). BENCH_SIZE=quick (a few minutes, synthetic
# or bundled data, any machine) or reference (the documented sizes, ../shared mirrors, ~40 min);
# SIZE=... works too. It holds flock /tmp/bench.lock itself (do not wrap it in flock).
BENCH_SIZE ?= $(or $(SIZE),quick)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py --size $(BENCH_SIZE) $(BENCH_ARGS)

# Every GPU-scale figure in one command (<= 9 min on one H200; plan in docs/BENCHMARKS.md).
# On a machine without CUDA it says so and exits 1.
gpu-check: $(STAMP)
	$(BIN)/python benchmarks/gpu_check.py --out results/gpu_check.json $(GPU_CHECK_ARGS)

# The SLURM executor plugin beside the environment, not in it (it slows every snakemake call
# by ~10 s where SLURM client tools exist but no controller answers): use it with
#   PYTHONPATH=.slurm-plugin .venv/bin/snakemake --profile profiles/slurm
slurm-plugin: $(STAMP)
	$(BIN)/pip install --quiet --no-deps --target .slurm-plugin -c constraints.txt \
		snakemake-executor-plugin-slurm snakemake-executor-plugin-slurm-jobstep

clean:
	rm -rf results/*/ .snakemake
