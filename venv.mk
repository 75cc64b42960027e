# venv.mk — how the course's environments are installed; included at the top of the Makefile.
#
# uv installs the packages of every environment, from the same pins as pip would, and faster: a fresh
# .venv-py312 from requirements.txt took 118 s with pip (the benchmark grid running beside it) and 58 s with
# uv on the idle machine, both with warm caches; in the CI .venv-tfq took 25 s and .venv-site 12 s (209 s and
# 82 s with pip, by hand). --compile-bytecode: pip writes every module's .pyc when it installs, uv only when
# asked; where PYTHONDONTWRITEBYTECODE is set (this machine and its CI), no .pyc is ever written later, and
# every process would compile TensorFlow's sources again when it imports it (14 s instead of 8 s).
# uv itself lives in .venv-uv, a small environment of its own, so that it is in none of the environments it
# builds (.venv-tfq and .venv-site check that every installed package is pinned). pip still installs what
# comes from this machine's own wheel folder (torch, see requirements-torch.txt) and the course package in
# editable mode.
UV_PIN  := uv==0.13.8
UV_VENV := .venv-uv
UV      := $(UV_VENV)/bin/uv

$(UV): venv.mk
	@rm -rf $(UV_VENV)
	$(or $(PYTHON),python3) -m venv $(UV_VENV)
	@echo "*" > $(UV_VENV)/.gitignore
	$(UV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "$(UV_PIN)"
	@touch $@

#   $(call uv_install,PYTHON,ARGS) installs ARGS (e.g. -r requirements.txt) into the environment of the
#   interpreter PYTHON with uv; a rule that uses it lists $(UV) among its prerequisites.
uv_install = $(UV) pip install --quiet --compile-bytecode --python $(1) $(2)

# The one recipe that builds the course's side environments, .venv-tfq (tfq.mk) and .venv-site (site.mk):
#
#   $(call fresh_venv,PYVAR,VENV,PIP,REQUIREMENTS,CHECK)
#
# builds VENV from scratch (packages dropped from the pins must not linger) with the interpreter the
# variable PYVAR names, pins pip to PIP, installs REQUIREMENTS with uv, runs `VENV/bin/python CHECK` (what
# the environment must hold) and touches the target, the environment's stamp. Use it as a rule's recipe,
# with $(UV) among the rule's prerequisites.
define fresh_venv
	@set -e; start=$$(date +%s); \
	command -v $($(1)) >/dev/null || { echo "make: no Python interpreter '$($(1))' for $(2); choose one with $(1)=..."; exit 1; }; \
	echo "building $(2) from scratch with $($(1)) ($$($($(1)) -V 2>&1))"; \
	rm -rf $(2); \
	$($(1)) -m venv $(2); \
	echo "*" > $(2)/.gitignore; \
	$(2)/bin/python -m pip install --quiet --disable-pip-version-check "$(3)"; \
	$(call uv_install,$(2)/bin/python,-r $(4)); \
	$(2)/bin/python $(5); \
	touch $@; \
	echo "$(2) built in $$(( $$(date +%s) - start )) s"
endef
