# venv.mk — the one recipe that builds the course's side environments, .venv-tfq (tfq.mk) and
# .venv-site (site.mk); included by the Makefile before them.
#
#   $(call fresh_venv,PYVAR,VENV,PIP,REQUIREMENTS,CHECK)
#
# builds VENV from scratch (packages dropped from the pins must not linger) with the interpreter the
# variable PYVAR names, pins pip to PIP, installs REQUIREMENTS, runs `VENV/bin/python CHECK` (what the
# environment must hold) and touches the target, the environment's stamp. Use it as a rule's recipe.
define fresh_venv
	@set -e; start=$$(date +%s); \
	command -v $($(1)) >/dev/null || { echo "make: no Python interpreter '$($(1))' for $(2); choose one with $(1)=..."; exit 1; }; \
	echo "building $(2) from scratch with $($(1)) ($$($($(1)) -V 2>&1))"; \
	rm -rf $(2); \
	$($(1)) -m venv $(2); \
	echo "*" > $(2)/.gitignore; \
	$(2)/bin/python -m pip install --quiet --disable-pip-version-check "$(3)"; \
	$(2)/bin/python -m pip install --quiet --disable-pip-version-check -r $(4); \
	$(2)/bin/python $(5); \
	touch $@; \
	echo "$(2) built in $$(( $$(date +%s) - start )) s"
endef
