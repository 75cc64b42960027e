"""The course's GitHub repository, from its one setting: ``[tool.hqc-course]`` in ``pyproject.toml``.

Everything that names the repository is built from it: the Colab/Binder badges in every
notebook's header cell and in the README (``tools/notebook_tools.py`` writes both), and the
website's launch buttons and repository link (``book/conf.py``). ``tests/test_repository.py``
checks that the committed notebooks, the README and the built site agree with it.

Standard library only: the website's environment (``.venv-site``) imports it too.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
SECTION = "tool.hqc-course"
# GitHub's rules: owner of letters, digits and single hyphens; a name of letters, digits, '.', '_', '-'
NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/[A-Za-z0-9._-]{1,100}$")
BRANCH = re.compile(r"^[A-Za-z0-9._/-]+$")

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE = "https://mybinder.org/badge_logo.svg"


@dataclass(frozen=True)
class Repository:
    """A GitHub repository (``owner/name``) and the branch that the launch links open."""

    name: str
    branch: str

    @property
    def url(self) -> str:
        return f"https://github.com/{self.name}"

    def colab(self, path: str) -> str:
        """Colab's link to open ``path`` (relative to the repository's root, e.g. ``notebooks/00_index.ipynb``)."""
        return f"https://colab.research.google.com/github/{self.name}/blob/{self.branch}/{path}"

    def binder(self, path: str) -> str:
        """Binder's link to open ``path`` in JupyterLab (what sphinx-book-theme's launch button builds too)."""
        return f"https://mybinder.org/v2/gh/{self.name}/{self.branch}?urlpath=lab/tree/{path}"

    def badges_markdown(self, path: str) -> str:
        """The Colab and Binder badges for ``path``, as Markdown (the notebooks' header cell, the README)."""
        return (f"[![Open In Colab]({COLAB_BADGE})]({self.colab(path)}) "
                f"[![Launch Binder]({BINDER_BADGE})]({self.binder(path)})")


def repository(pyproject: Path | str = PYPROJECT) -> Repository:
    """Read ``[tool.hqc-course]`` ``repository`` and ``branch``; a clear error for a missing or malformed value."""
    pyproject = Path(pyproject)
    with pyproject.open("rb") as f:
        settings = tomllib.load(f).get("tool", {}).get("hqc-course")
    if not isinstance(settings, dict):
        raise ValueError(f"{pyproject} has no [{SECTION}] table; it needs repository = \"owner/name\" and branch = \"main\"")
    name, branch = settings.get("repository"), settings.get("branch")
    if not isinstance(name, str) or not NAME.match(name):
        raise ValueError(f"[{SECTION}] repository in {pyproject} is {name!r}; "
                         "it must be a GitHub repository as \"owner/name\", e.g. \"hybrid-qml-course/hybrid-qml-course\"")
    if not isinstance(branch, str) or not BRANCH.match(branch):
        raise ValueError(f"[{SECTION}] branch in {pyproject} is {branch!r}; it must be a branch name such as \"main\"")
    return Repository(name=name, branch=branch)
