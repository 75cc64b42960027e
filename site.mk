# site.mk — the course as a website (included by the Makefile).
#
#   make site        build the HTML book in _site/html from README.md and the committed notebooks
#                    (Sphinx + MyST-NB + sphinx-book-theme; nothing is executed); open it with
#                    `python3 -m http.server -d _site/html 8000` and http://localhost:8000
#   make test-site   build it, then open every page in Debian's headless Chromium (Playwright) and
#                    check titles, console errors, images, math, links, launch buttons, downloads and
#                    the solution blocks (book/test_site.py); part of `make test`
#   make clean-site  remove _site and .venv-site
#
# Its own environment, .venv-site, from requirements-site.txt (rebuilt from scratch whenever that
# file changes): no TensorFlow, since nothing runs. Offline: MathJax 2 comes from Debian's
# libjs-mathjax and is copied into the site; the browser is Debian's chromium. Both are installed
# with apt-get when missing (as root, or with sudo); the build and the test fail, never skip, when
# they cannot be.

SITE_PYTHON   ?= $(or $(PYTHON),python3)
SITE_VENV     := .venv-site
SITE_PY       := $(SITE_VENV)/bin/python
SITE_STAMP    := $(SITE_VENV)/.installed
SITE_PIP      := pip==26.3
SITE_OUT      := _site
SITE_HTML     := $(SITE_OUT)/html
SITE_MATHJAX  ?= /usr/share/javascript/mathjax
SITE_CHROMIUM ?= /usr/bin/chromium
# root installs directly; anyone else through sudo, when there is one
SITE_SUDO     := $(if $(filter 0,$(shell id -u)),,$(if $(shell command -v sudo),sudo,))

# install Debian packages $(1) (apt-get update first: a fresh machine may have no package lists)
define site_apt
	@if [ "$$(id -u)" != 0 ] && [ -z "$(SITE_SUDO)" ]; then \
	  echo "make: $(2) missing and cannot be installed (not root, no sudo): apt-get install -y $(1)" >&2; exit 1; fi
	@echo "installing Debian's $(1) ($(2) missing)"
	$(SITE_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q
	$(SITE_SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(1)
endef

.PHONY: site test-site site-mathjax site-chromium clean-site

$(SITE_STAMP): requirements-site.txt venv.mk $(UV)
	$(call fresh_venv,SITE_PYTHON,$(SITE_VENV),$(SITE_PIP),requirements-site.txt,tools/check_pins.py requirements-site.txt)

site-mathjax:
	@test -f $(SITE_MATHJAX)/MathJax.js || { $(MAKE) --no-print-directory site-install-mathjax; }
	@test -f $(SITE_MATHJAX)/MathJax.js || { echo "no MathJax 2 in $(SITE_MATHJAX) after installing libjs-mathjax" >&2; exit 1; }

site-chromium:
	@test -x $(SITE_CHROMIUM) || { $(MAKE) --no-print-directory site-install-chromium; }
	@test -x $(SITE_CHROMIUM) || { echo "no Chromium at $(SITE_CHROMIUM) after installing chromium" >&2; exit 1; }

.PHONY: site-install-mathjax site-install-chromium
site-install-mathjax:
	$(call site_apt,libjs-mathjax,MathJax 2 ($(SITE_MATHJAX)/MathJax.js))

site-install-chromium:
	$(call site_apt,chromium,Chromium ($(SITE_CHROMIUM)))

# From scratch every time (a renamed chapter leaves no stale page); warnings are errors
# (a missing image, an unresolved link), all of them reported (--keep-going).
site: $(SITE_STAMP) site-mathjax
	@rm -rf $(SITE_OUT)
	@start=$$(date +%s); \
	HQC_MATHJAX_DIR=$(SITE_MATHJAX) $(SITE_PY) -m sphinx -b html -c book -d $(SITE_OUT)/doctrees \
	  -W --keep-going -q . $(SITE_HTML) && \
	echo "site built in $$(( $$(date +%s) - start )) s: $(SITE_HTML)/index.html (python3 -m http.server -d $(SITE_HTML) 8000)"

test-site: site site-chromium
	@start=$$(date +%s); \
	HQC_CHROMIUM=$(SITE_CHROMIUM) HQC_SITE_DIR=$(SITE_HTML) $(SITE_PY) -m pytest -c book/pytest.ini book/test_site.py && \
	echo "browser test of the site took $$(( $$(date +%s) - start )) s"

clean-site:
	rm -rf $(SITE_OUT) $(SITE_VENV)
