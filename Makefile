# One-command entry points. Everything runs inside .venv (created on first use); chapter 09 runs in
# .venv-tfq (see tfq.mk), the Python 3.12 check in .venv-py312, and the website in .venv-site (see site.mk).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TORCH_STAMP := $(VENV)/.installed-torch
# Python 3.12: from pyenv when it has one (its shim refuses a version that is not selected), else PATH
PY312  ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12) python3.12)
VENV312 := .venv-py312
STAMP312 := $(VENV312)/.installed
# uv, which installs every environment's packages (venv.mk); `make` alone still means `make install`
include venv.mk
.DEFAULT_GOAL := install

.PHONY: install install-torch lab test test-backends test-py312 lint notebooks bench-layer clean-venv

install: $(STAMP)

# Re-install when the pins or the package metadata change.
$(STAMP): requirements.txt pyproject.toml $(UV)
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Python >= 3.11 needed (PennyLane 0.45), found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(call uv_install,$(PY),-r requirements.txt)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The optional torch backend (make test checks the quantum layer under it).
install-torch: $(TORCH_STAMP)

$(TORCH_STAMP): requirements-torch.txt $(STAMP)
	$(PY) -m pip install -r requirements-torch.txt
	touch $(TORCH_STAMP)

# JupyterLab refuses to start as root unless told; containers (Binder, Docker, CI) often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: install
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/00_index.ipynb

# The README's test command; CI (.ci/run) runs exactly this.
test: install install-torch
	$(PY) -m pip check
	$(PY) -m ruff check .
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-backends
	$(MAKE) --no-print-directory test-py312
	$(MAKE) --no-print-directory test-tfq
	$(MAKE) --no-print-directory test-site

lint: install
	$(PY) -m ruff check .

# The quantum layer and the models under the two other Keras backends, one process each
# (a process can hold only one backend). JAX with float64, so that 1e-6 checks are meaningful.
LAYER_TESTS := tests/test_layers.py tests/test_models.py
test-backends: install install-torch
	KERAS_BACKEND=jax JAX_ENABLE_X64=1 $(PY) -m pytest -p no:cacheprovider $(LAYER_TESTS)
	KERAS_BACKEND=torch $(PY) -m pytest -p no:cacheprovider $(LAYER_TESTS)

# The unit tests on Python 3.12 (what Colab runs, and what PennyLane 0.46 will require), with the same pins;
# the slow ones (the real quick benchmark, the real CIFAR split, the runner's kill and lock tests, each with a
# driver process and a cluster of its own) run once, in the main run.
$(STAMP312): requirements.txt pyproject.toml $(UV)
	test -x $(VENV312)/bin/python || $(PY312) -m venv $(VENV312)
	$(VENV312)/bin/python -m pip install --quiet --upgrade pip
	$(call uv_install,$(VENV312)/bin/python,-r requirements.txt)
	$(VENV312)/bin/python -m pip install --quiet --no-deps -e .
	touch $(STAMP312)

# Without a Python 3.12 the check is skipped with a message — except under HQC_CI=1 (CI), where that fails.
test-py312:
	@if $(PY312) -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then \
	  $(MAKE) --no-print-directory $(STAMP312) && $(VENV312)/bin/python -m pytest -p no:cacheprovider -m "not slow" tests; \
	elif [ "$${HQC_CI:-}" = 1 ]; then \
	  echo "HQC_CI=1: no Python 3.12 found ($(PY312)); the Python 3.12 unit tests cannot be skipped under CI" >&2; exit 1; \
	else \
	  echo "skipped: no Python 3.12 found ($(PY312)); set PY312=/path/to/python3.12 to run the unit tests on 3.12"; \
	fi

# For maintainers: the PennyLane reference of chapter 09, every chapter's header/footer cells,
# every notebook re-executed in place, in order (each in its own kernel), their run times in
# notebooks/run_times.json, and the README's tables and figure. Offline, set HQC_DATA_DIR first.
notebooks: install tfq
	$(PY) tools/tfq_reference.py
	$(PY) -m tools.notebook_tools navigation notebooks
	$(PY) -m tools.notebook_tools execute notebooks
	$(PY) -m tools.notebook_tools readme

# For maintainers, on an idle machine (about 10 minutes): results/bench_layer.json, which chapter 04
# reads. The peer pennylane-keras3-layer is installed without its dependencies: it pins no
# versions the course can share, and only its module is needed.
bench-layer: install install-torch
	$(PY) -m pip install --no-deps pennylane-keras3-layer==1.1.0
	$(PY) -m tools.bench_layer

clean-venv:
	rm -rf $(VENV) $(VENV312) $(UV_VENV)

include tfq.mk
include site.mk
