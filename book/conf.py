"""Sphinx configuration of the course's website (``make site``; see site.mk and the README).

The site is built from the repository as it is: the README is the landing page and the
committed notebooks are the chapters, rendered with their saved outputs (MyST-NB, nothing is
executed). The source folder is the repository's root; this folder only holds the configuration.

* chapter order: ``hqc_course.course.chapters()``, the same source as the notebooks' navigation
  cells and the README's chapter table;
* launch buttons (Binder, Colab) and the repository link: ``tools.repository``, the one setting
  ``[tool.hqc-course]`` in pyproject.toml that the notebooks' and the README's badges come from;
* math: MathJax 2 from Debian's ``libjs-mathjax`` (``HQC_MATHJAX_DIR``), copied into the site,
  so that neither the build nor the pages need the network;
* nothing in the repository is changed: the badge cells and the README's badge lines (images
  from the badge hosts, which an offline page cannot load) are left out of the pages by
  ``source-read`` below, where the theme's launch buttons take their place.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hqc_course.course import HEADER_TAG, chapters, course_map  # noqa: E402  (standard library only)
from tools.repository import repository  # noqa: E402

REPO = repository(ROOT / "pyproject.toml")
CHAPTERS = chapters(ROOT / "notebooks")
README_TITLE = ROOT.joinpath("README.md").read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()

# -- project ---------------------------------------------------------------------------------
project = README_TITLE.split(" — ")[0]
html_title = project
author = "Hybrid QML Course contributors"
copyright = "2026, " + author

# -- sources: the README and the chapters, read from where they are ---------------------------
root_doc = "README"
# data/README.md: the offline data files, which the README links to
include_patterns = ["README.md", "data/README.md"] + [f"notebooks/{p.name}" for p in CHAPTERS]
# folders Sphinx need not walk (it walks the source folder before applying include_patterns)
exclude_patterns = [".*", "_site", "build", "results", "hqc_course", "tools", "tests", "book", "docs",
                    "*.egg-info", "notebooks/.ipynb_checkpoints"]

extensions = ["myst_nb"]
nb_execution_mode = "off"  # the committed outputs are the course's results: never re-run here
nb_merge_streams = True
# Markdown outputs (chapter 00's course map) parsed as MyST, so that their links to other chapters
# (NN_name.ipynb) become links to those chapters' pages, as they do in Markdown cells
nb_render_markdown_format = "myst"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # the README's and the notebooks' "#section" links
myst_update_mathjax = False  # MathJax 2 is configured below, not MyST's MathJax 3+ options

# -- MathJax 2 from the local Debian package ----------------------------------------------------
MATHJAX_DIR = Path(os.environ.get("HQC_MATHJAX_DIR", "/usr/share/javascript/mathjax"))
# what the pages use: the combined TeX -> CommonHTML configuration, its fonts (woff), the menu and zoom
MATHJAX_PARTS = ["MathJax.js", "config/TeX-AMS_CHTML.js", "extensions", "jax/input/TeX", "jax/element",
                 "jax/output/CommonHTML", "fonts/HTML-CSS/TeX/woff", "localization/en"]
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_CHTML"
mathjax_config_path = "mathjax-config.js"  # errors go to the console, where the browser test sees them
mathjax_options = {"async": "async"}

# -- HTML ------------------------------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_sourcelink_suffix = ""  # _sources/notebooks/NN_name.ipynb is the notebook itself: the download link
html_last_updated_fmt = None
# pydata-sphinx-theme logs "Got invalid theme mode" as a console error for a first visit without it
html_context = {"default_mode": "auto"}
html_theme_options = {
    "repository_url": REPO.url,
    "repository_branch": REPO.branch,
    "path_to_docs": "",  # the source folder is the repository's root
    "use_repository_button": True,
    "use_download_button": True,
    "use_issues_button": False,
    "use_edit_page_button": False,
    "launch_buttons": {"binderhub_url": "https://mybinder.org", "colab_url": "https://colab.research.google.com",
                       "notebook_interface": "jupyterlab"},
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "navigation_with_keys": False,
}


def _chapter_toctree() -> str:
    """The hidden toctree appended to the landing page: the chapters, in the course's order."""
    # "NN · title" as in the README's chapter table (some notebooks' headings carry their number, some not)
    entries = "\n".join(f"{c.number} · {c.title} <notebooks/{c.path.stem}>" for c in course_map(ROOT / "notebooks"))
    return (f"\n\n```{{toctree}}\n:hidden:\n:caption: Chapters\n:maxdepth: 1\n\n{entries}\n```\n"
            "\n```{toctree}\n:hidden:\n:caption: Reference\n:maxdepth: 1\n\nThe offline data folder <data/README>\n```\n")


BADGES = re.compile(r"<!-- BEGIN generated: badges -->.*?<!-- END generated: badges -->\n?", re.S)


def _source_read(app, docname: str, source: list[str]) -> None:
    if docname == root_doc:
        text, found = BADGES.subn("", source[0])
        if not found:
            raise ValueError("README.md lacks its generated badges section (<!-- BEGIN generated: badges -->)")
        source[0] = text + _chapter_toctree()
    elif docname.startswith("notebooks/"):
        nb = json.loads(source[0])
        header = [c for c in nb["cells"] if HEADER_TAG in c.get("metadata", {}).get("tags", [])]
        for cell in header:  # the badge cell: the page's launch buttons replace it
            cell["metadata"]["tags"] = [*cell["metadata"]["tags"], "remove-cell"]
        source[0] = json.dumps(nb)


def _copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    shutil.rmtree(target, ignore_errors=True)
    for part in MATHJAX_PARTS:
        source = MATHJAX_DIR / part
        if source.is_dir():
            shutil.copytree(source, target / part)  # follows Debian's symlinks to the font files
        else:
            (target / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / part)


def _write_index(app, exception) -> None:
    """index.html, what a web server opens first, sends the reader to the landing page (README.html)."""
    if exception is not None or app.builder.format != "html":
        return
    Path(app.outdir, "index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<title>{project}</title>\n<meta http-equiv="refresh" content="0; url={root_doc}.html">\n'
        f'<link rel="canonical" href="{root_doc}.html">\n</head>\n'
        f'<body><p><a href="{root_doc}.html">{project}: start here</a></p></body>\n</html>\n', encoding="utf-8")


def setup(app):
    if not (MATHJAX_DIR / "MathJax.js").is_file() or not (MATHJAX_DIR / "config/TeX-AMS_CHTML.js").is_file():
        raise RuntimeError(f"MathJax 2 not found in {MATHJAX_DIR}: install Debian's libjs-mathjax "
                           "(apt-get install libjs-mathjax), or set HQC_MATHJAX_DIR to a MathJax 2.7 folder")
    app.connect("source-read", _source_read)
    app.connect("build-finished", _copy_mathjax)
    app.connect("build-finished", _write_index)
