# One-command entry points. Everything runs inside .venv (created on first use).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install lab test notebooks clean-venv

install: $(STAMP)

# Re-install when the pins or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 10), "Python >= 3.10 needed, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	touch $(STAMP)

# JupyterLab refuses to start as root unless told; containers (Binder, Docker, CI) often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: install
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) notebooks/00_index.ipynb

test: install
	$(PY) -m pytest

# For maintainers: refresh every chapter's header/footer cells, re-execute every notebook in
# place, in order, and record run times. Offline, set HQC_DATA_DIR (see README) first.
notebooks: install
	$(PY) -m helpers.notebook_tools navigation notebooks
	$(PY) -m helpers.notebook_tools execute notebooks
	$(PY) -m helpers.notebook_tools readme

clean-venv:
	rm -rf $(VENV)
