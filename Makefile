# Set-up and entry points. `make test` and `make reproduce` work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# CPU build of torch by default; on a GPU machine install your CUDA torch into .venv first (see README).
TORCH ?= torch==2.13.0
WHEELS := $(wildcard /opt/wheels)
PIP_LOCAL := $(if $(WHEELS),--find-links $(WHEELS),)
TEST_FLAGS ?=
PYTEST_WORKERS ?= 2
PROBES := reward_ceiling reward_data_curve strict_filter robust_clip

.PHONY: all venv test test-slow sync-check bench reproduce limits rounds models clean-runs browser $(PROBES)
all: test

venv: $(VENV)/.installed
$(VENV)/.installed: settings.ini setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q $(PIP_LOCAL) "$(TORCH)"
	$(BIN)/python -m pip install -q $(PIP_LOCAL) -e ".[dev]"
	touch $@

# Notebooks must be clean and the package exported from them.
sync-check: venv
	PATH=$(BIN):$$PATH bash tools/check_sync.sh

test: venv browser sync-check
	PATH=$(BIN):$$PATH RLHF_T2I_TEST_FLAGS="$(TEST_FLAGS)" bash tools/run_tests.sh $(PYTEST_WORKERS)

# Debian's chromium for tests/test_app_browser.py (Playwright drives it; `playwright install` cannot download browsers here).
# Only root can apt-get: anyone else gets a note, and the browser test skips with its reason (under CI=true it fails).
browser:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y chromium; \
	else echo "make browser: chromium is absent and installing it needs root (apt-get); skipped, so tests/test_app_browser.py will skip"; fi

test-slow:
	$(MAKE) test TEST_FLAGS="slow"

bench: venv
	@for f in bench/*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

# The shapes base models in data/models/ (VAE and UNet 82 min on 2 CPU cores, plus the CLIP stage: 2.4 min on an H200,
# about 2 h 40 min on 2 CPU cores (bench/pretrain.py); trains on CUDA when present; resumes from runs/pretrain).
models: venv
	$(BIN)/rlhf-t2i pretrain --out data/models --work runs/pretrain
	$(BIN)/python bench/base_models.py --json data/models/base_models.json --samples figures/base_samples.png
	$(BIN)/python -c "from rlhf_t2i.pretrain import model_cards; model_cards('data/models')"

reproduce: venv
	$(BIN)/rlhf-t2i reproduce --profile full

# Controls that locate fine-tuning's limits (figures/limits.*), on make reproduce's work folder (about 4 h 30 min more on 2 cores),
# then the same models on a second seed set of evaluation images (runs/experiments/limits-seed2000, a few minutes).
limits: venv | runs/experiments
	$(BIN)/papermill nbs/experiments/limits.ipynb runs/experiments/limits.ipynb -f params/rlhf/full.yaml -f params/limits/full.yaml
	$(BIN)/papermill nbs/experiments/limits.ipynb runs/experiments/limits-seed2000.ipynb -f params/rlhf/full.yaml -f params/limits/full.yaml \
		-p eval_seed 2000 -p out runs/experiments/limits-seed2000

# Repeated rounds of feedback and fine-tuning, each measured against the base (figures/rounds.json, figures/rounds.png):
# 4 rounds with each of the paper's reward, the patch-attention reward and the oracle's verdicts as the reward, work in
# runs/experiments/full/rounds (resumable round by round); 59.5 min from a fresh clone on 2 quiet CPU cores.
rounds: venv | runs/experiments
	$(BIN)/papermill nbs/experiments/rounds.ipynb runs/experiments/rounds.ipynb -f params/rounds/full.yaml

# Probes of the reward and of fine-tuning's data on make reproduce's work folder (docs/findings.md), one experiment
# notebook each: `make strict_filter`, or `make strict_filter PROFILE=quick` on the quick profile's work folder.
PROFILE ?= full
$(PROBES): venv | runs/experiments
	$(BIN)/papermill nbs/experiments/$@.ipynb runs/experiments/$@-$(PROFILE).ipynb -f params/rlhf/$(PROFILE).yaml -f params/$@/$(PROFILE).yaml

# papermill writes no folder of its own: the experiment targets make this one first
runs/experiments:
	mkdir -p $@

clean-runs:
	rm -rf runs
