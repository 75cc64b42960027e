# tfq.mk — chapter 09's own environment: TensorFlow Quantum (included by the Makefile).
#
#   make tfq          build .venv-tfq from requirements-tfq.txt (from scratch whenever that file
#                     changes) and register the Jupyter kernel "hqc-tfq"
#   make test-tfq     run chapter 09 under nbval in .venv-tfq
#   make notebook-tfq (maintainers) regenerate results/tfq_reference.json in .venv, then
#                     re-execute chapter 09 in place with the hqc-tfq kernel
#   make clean-tfq    remove .venv-tfq and the kernel registration
#
# Why a second environment: TFQ 0.7.6 needs TensorFlow < 2.19, Keras 2 (tf-keras) and jax < 0.6;
# the course's .venv has TensorFlow 2.21, Keras 3 and jax 0.10 (see requirements-tfq.txt).
#
# Where TFQ 0.7.6 has no wheel (anything but Linux x86_64 with glibc and CPython 3.10-3.12),
# `make tfq` says so and does nothing, and `make test-tfq` skips chapter 09 with that reason and
# exits 0 — except under HQC_CI=1, where a skip is a failure. Another interpreter can be chosen:
# `make tfq TFQ_PYTHON=python3.11`.
#
# The kernel: registered with `--prefix` into the main environment's share/jupyter when .venv
# exists, because that is where the JupyterLab of `make lab` (started from .venv) looks, nothing
# is written outside the repository, and `make clean-venv` removes it with that JupyterLab. Only
# when .venv does not exist yet is it registered with `--user` (~/.local/share/jupyter), which
# every Jupyter of this user finds; run `make tfq` again after `make install` to add it to .venv.

TFQ_PYTHON   ?= $(or $(PYTHON),python3)
TFQ_VENV     := .venv-tfq
TFQ_PY       := $(TFQ_VENV)/bin/python
TFQ_STAMP    := $(TFQ_VENV)/.installed
TFQ_EDITABLE := $(TFQ_VENV)/.course-package
TFQ_MAIN_VENV := .venv
TFQ_KERNEL   := hqc-tfq
TFQ_NOTEBOOK := notebooks/09_tensorflow_quantum.ipynb
# pip itself is pinned here (pip freeze does not list it)
TFQ_PIP      := pip==26.3

# Empty where TFQ 0.7.6 has a wheel; otherwise the platform and/or Python it lacks one for.
TFQ_UNSUPPORTED := $(shell $(TFQ_PYTHON) -c 'import platform, sys; \
  s, m, libc, v = platform.system(), platform.machine().lower(), platform.libc_ver()[0], sys.version_info[:2]; \
  bad = [s + " " + m] if s != "Linux" or m not in ("x86_64", "amd64") else \
        ([] if libc == "glibc" else ["Linux " + m + " without glibc" + (" (" + libc + ")" if libc else "")]); \
  bad += [] if (3, 10) <= v <= (3, 12) else ["Python %d.%d" % v]; \
  print(" and ".join(bad))' 2>/dev/null)
TFQ_NO_WHEEL = tensorflow-quantum 0.7.6 has no wheel for $(TFQ_UNSUPPORTED) ($(TFQ_PYTHON)). PyPI has \
  wheels only for Linux x86_64 (glibc) with CPython 3.10, 3.11 or 3.12; see requirements-tfq.txt and \
  tensorflow/quantum issue 960. With another interpreter: make tfq TFQ_PYTHON=python3.11

# After installing: every installed distribution must be pinned, at the pinned version.
define TFQ_FREEZE_CHECK
import re, subprocess, sys
norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()
pins = {}
for line in open("requirements-tfq.txt"):
    line = line.split("#")[0].strip()
    if line:
        name, _, version = line.partition("==")
        pins[norm(name)] = version.strip()
out = subprocess.run([sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
                     capture_output=True, text=True, check=True).stdout
have = {norm(n): v for n, _, v in (l.partition("==") for l in out.split()) if norm(n) != "pip"}
unpinned = sorted(f"{n}=={v}" for n, v in have.items() if n not in pins)
wrong = sorted(f"{n}: pinned {pins[n]}, installed {v}" for n, v in have.items() if n in pins and pins[n] != v)
missing = sorted(n for n in pins if n not in have)
if unpinned or wrong or missing:
    sys.exit("requirements-tfq.txt does not describe .venv-tfq exactly:"
             + "".join(f"\n  not pinned: {x}" for x in unpinned)
             + "".join(f"\n  different: {x}" for x in wrong)
             + "".join(f"\n  pinned, not installed: {x}" for x in missing))
print(f"check: .venv-tfq holds exactly the {len(pins)} pinned packages (+ pip and the course package)")
endef
export TFQ_FREEZE_CHECK

define TFQ_SMOKE
import os
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import cirq, tensorflow as tf, tensorflow_quantum as tfq, hqc_course.data
q = cirq.LineQubit(0)
z = tfq.layers.Expectation()(cirq.Circuit(cirq.X(q)), operators=[cirq.Z(q)]).numpy().item()
assert abs(z + 1) < 1e-6, z
print(f"check: TFQ {tfq.__version__} on TensorFlow {tf.__version__} with {tf.keras.__name__.split('.')[0]}, "
      f"cirq {cirq.__version__}: <Z> of X|0> = {z:.0f}")
endef
export TFQ_SMOKE

.PHONY: tfq tfq-kernel test-tfq notebook-tfq clean-tfq

ifeq ($(TFQ_UNSUPPORTED),)

tfq: $(TFQ_STAMP) $(TFQ_EDITABLE) tfq-kernel

# From scratch: packages dropped from the pins must not linger in the environment.
$(TFQ_STAMP): requirements-tfq.txt venv.mk $(UV)
	$(call fresh_venv,TFQ_PYTHON,$(TFQ_VENV),$(TFQ_PIP),requirements-tfq.txt,-c "$$TFQ_FREEZE_CHECK")

# The course package, without dependencies (hqc_course.data imports only numpy when imported).
$(TFQ_EDITABLE): $(TFQ_STAMP) pyproject.toml
	@out=$$($(TFQ_PY) -m pip install --quiet --disable-pip-version-check --no-deps -e . 2>&1) || { echo "$$out"; exit 1; }
	@TF_CPP_MIN_LOG_LEVEL=3 $(TFQ_PY) -c "$$TFQ_SMOKE" 2>/dev/null || TF_CPP_MIN_LOG_LEVEL=3 $(TFQ_PY) -c "$$TFQ_SMOKE"
	@touch $@

tfq-kernel: $(TFQ_STAMP)
	@set -e; \
	if [ -x $(TFQ_MAIN_VENV)/bin/python ]; then where="--prefix $(abspath $(TFQ_MAIN_VENV))"; \
	else where="--user"; echo "note: $(TFQ_MAIN_VENV) does not exist yet: registering the kernel with --user"; fi; \
	display="Python $$($(TFQ_PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])') (course: TensorFlow Quantum)"; \
	out=$$($(TFQ_PY) -m ipykernel install $$where --name $(TFQ_KERNEL) --display-name "$$display" \
	  --env TF_USE_LEGACY_KERAS 1 2>&1) || { echo "$$out"; exit 1; }; \
	if [ -x $(TFQ_MAIN_VENV)/bin/jupyter ]; then \
	  $(TFQ_MAIN_VENV)/bin/jupyter kernelspec list | grep "^ *$(TFQ_KERNEL) " >/dev/null || \
	  { echo "the JupyterLab of $(TFQ_MAIN_VENV) does not find the kernel $(TFQ_KERNEL)"; exit 1; }; fi; \
	echo "Jupyter kernel '$(TFQ_KERNEL)' (\"$$display\") registered ($$where); chapter 09 opens in it"

test-tfq: tfq
	TF_USE_LEGACY_KERAS=1 $(TFQ_PY) -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider notebooks/09_*.ipynb

notebook-tfq: tfq
	@test -x $(TFQ_MAIN_VENV)/bin/jupyter || { echo "notebook-tfq needs the main environment: run make install first"; exit 1; }
	$(TFQ_MAIN_VENV)/bin/python tools/tfq_reference.py
	@start=$$(date +%s); \
	$(TFQ_MAIN_VENV)/bin/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=900 \
	  --ExecutePreprocessor.kernel_name=$(TFQ_KERNEL) $(TFQ_NOTEBOOK) && \
	echo "$(TFQ_NOTEBOOK) executed in $$(( $$(date +%s) - start )) s"

else

tfq:
	@echo "make tfq: skipped. $(TFQ_NO_WHEEL)"

test-tfq:
	@if [ "$${HQC_CI:-}" = 1 ]; then \
	  echo "FAILED (HQC_CI=1: a skip is a failure): chapter 09 cannot run here. $(TFQ_NO_WHEEL)"; exit 1; fi
	@echo "SKIPPED chapter 09 (TensorFlow Quantum): $(TFQ_NO_WHEEL)"

notebook-tfq:
	@echo "make notebook-tfq: cannot run here. $(TFQ_NO_WHEEL)"; exit 1

endif

clean-tfq:
	rm -rf $(TFQ_VENV) $(TFQ_MAIN_VENV)/share/jupyter/kernels/$(TFQ_KERNEL)
	@user_spec=$${HOME}/.local/share/jupyter/kernels/$(TFQ_KERNEL); \
	if grep -qs "$(abspath $(TFQ_VENV))/" $$user_spec/kernel.json; then rm -rf $$user_spec; echo "removed $$user_spec"; fi
