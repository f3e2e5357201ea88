# Two commands do everything on a fresh machine (see README.md):
#   make run    set up .venv, run the whole DAG on the default config (CPU, offline), write the report
#   make test   set up .venv, run the test suite
#   make reproduce  the reference runs that fit a CPU, collected into the ledger of record (hours)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CORES  ?= 2
STAMP  := $(VENV)/.installed

.PHONY: setup run report reproduce reproduce-lane-images reproduce-lane-text-em test lint bench clean

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

# The ledger of record (README "Reproducing the ledger of record"): every reference configuration that
# fits a CPU machine, each run and then collected into results/reference/<name>/ at reference
# scale (only the paths it writes at that scale), then the default run, the ledger and the report.
# Not run by CI: 3 to 3.5 hours on 2 cores (docs/BENCHMARKS.md). One reference run, a shell command:
#   $(call reference_run,<name>,<config file>,<results globs>,<targets>)
reference_run = $(BIN)/snakemake --cores $(CORES) $(4) --configfile config/$(2) \
	&& $(BIN)/python -m pipeline ledger collect results --into results/reference/$(1) \
	--label $(1) --scale reference $(foreach p,$(3),--pattern '$(p)')

# What `all` asks of the text and vectors tracks for one corpus (README "Running": one track).
corpus_targets = $(addprefix results/text/$(1)/,stats/statistics.parquet stats/statistics.html \
	stats/zipf.png cooccur/unit.parquet cooccur/harmonic.parquet) \
	$(addprefix results/vectors/$(1)/,summary.parquet summary.html losses.png results.html \
	norms/smallest.html norms/norms.png examples/examples.html ill_posedness/cosine.png \
	adagrad/losses.png)

# Two lanes run side by side (make -j2), so that one long single-threaded training job (the
# VQ-VAE, the discrete VAE) does not leave the other core idle for an hour. Their DAGs share no
# file (snakemake's lock refuses two runs that write the same path): lane images holds every run
# on image data (Fashion-MNIST at 28x28 and 14x14, MNIST), lane text-em the English and Chinese
# vectors and EM at full sizes, about half the CPU time each. Each lane logs to
# results/logs/reproduce-<lane>.log; a failed lane prints its last lines and stops make (the
# other lane finishes the run it is in). Measured per run in docs/BENCHMARKS.md ("make reproduce").
REPRODUCE_LOG = results/logs/reproduce-$(1).log
define lane
	@mkdir -p results/logs && echo "reproduce: lane $(1) started $$(date -u +%FT%TZ), log $(call REPRODUCE_LOG,$(1))"
	@( $(2) ) > $(call REPRODUCE_LOG,$(1)) 2>&1 || { tail -n 40 $(call REPRODUCE_LOG,$(1)); \
		echo "reproduce: lane $(1) failed, see $(call REPRODUCE_LOG,$(1))"; exit 1; }
	@echo "reproduce: lane $(1) done $$(date -u +%FT%TZ)"
endef

REPRODUCE_IMAGES = \
	$(call reference_run,images-reference,images-reference.yaml,images/fashion_mnist/**/*.parquet,results/images/fashion_mnist/vqvae/metrics.parquet results/images/fashion_mnist/priors/metrics.parquet) && \
	$(call reference_run,transport-reference,transport-reference.yaml,transport/results.parquet,results/transport/results.parquet results/transport/figures/wgan_curves.png results/transport/figures/toy_samples.png results/transport/figures/image_samples.png) && \
	$(call reference_run,energy-reference,energy-reference.yaml,energy/results.parquet,results/energy/results.parquet results/energy/figures/e3_3_samples.png results/energy/figures/e3_4_samples_fashion_mnist_14.png) && \
	$(call reference_run,dynamics-reference,dynamics-reference.yaml,dynamics/ema_benefit/fashion_mnist_14/seed*.parquet,results/dynamics/ema_benefit/fashion_mnist_14/summary.parquet) && \
	$(call reference_run,estimators-reference,estimators-reference.yaml,estimators/mnist/**/*.parquet,results/estimators/mnist/dvae/metrics.parquet results/estimators/mnist/figures/dvae_elbo.png results/estimators/mnist/figures/dvae_samples.png)
REPRODUCE_TEXT_EM = \
	$(call reference_run,em-reference,em-reference.yaml,em/**/*.parquet,results/em/summary.parquet) && \
	$(call reference_run,en-reference,en-reference.yaml,text/enwiki2015/**/*.parquet vectors/enwiki2015/**/*.parquet,$(call corpus_targets,enwiki2015)) && \
	$(call reference_run,zh-reference,zh-reference.yaml,text/xwlb/**/*.parquet vectors/xwlb/**/*.parquet,$(call corpus_targets,xwlb))

reproduce: $(STAMP)
	$(MAKE) --no-print-directory -j2 reproduce-lane-images reproduce-lane-text-em
	$(BIN)/snakemake --cores $(CORES)
	$(BIN)/snakemake --cores $(CORES) --report results/report.html

reproduce-lane-images: $(STAMP)
	$(call lane,images,$(REPRODUCE_IMAGES))

reproduce-lane-text-em: $(STAMP)
	$(call lane,text-em,$(REPRODUCE_TEXT_EM))

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
