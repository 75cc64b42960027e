"""Every environment variable the course reads, and every folder it reads from or writes to: this module only.

Introduced in notebook 00 (its environment check prints :func:`folders`).

- ``HQC_DATA_DIR`` — the offline datasets folder, read and never written (default: the checkout's
  ``data/``, else the user data folder);
- ``HQC_CACHE_DIR`` — where chapters 10 and 11 write their caches (default: the checkout's ``data/``,
  else the user cache folder);
- ``HQC_OFFLINE`` — any value but empty or ``0``: never try the network (default: try it, 3 s at most);
- ``HQC_CI`` — ``1``: a missing dataset or environment fails the tests instead of skipping them, and a chapter
  whose results file is out of date fails instead of printing a note (empty or ``0``: off; any other value is an
  error, since the Makefile's shell checks test for ``1`` exactly);
- ``HQC_QUANV_RESULTS``, ``HQC_TRANSFER_RESULTS``, ``HQC_CHAPTER05_RESULTS`` — another results file for
  chapter 10, chapter 11, and chapter 05's numbers as chapters 08 and 09 read them (default: the committed
  ``results/benchmark_quanvolution.json``, ``results/benchmark_transfer.json``, ``results/chapter05_mnist.json``);
- ``HQC_BENCHMARK_RESULTS_DIR`` — another folder of benchmark results for chapter 07 (default: ``results/``).

A *checkout* is a clone of the course's repository that the package runs from (``pip install -e .``,
``make install``): the folder above ``hqc_course/`` holds the course's ``pyproject.toml``. Installed any
other way (``pip install git+…``, as the notebooks do on Colab) the package lives in ``site-packages``,
which is no place for data: datasets and caches then go to the user's folders that
`platformdirs <https://platformdirs.readthedocs.io/>`_ names (on Linux ``~/.local/share/hybrid-qml-course``
and ``~/.cache/hybrid-qml-course``), and ``results/`` is looked up beside the notebook's folder
(``../results``, where the Colab cells of chapters 04, 08, 09, 10 and 11 download the committed files).

Every function reads the environment when it is called, so a change made in a running kernel (or by a
test's ``monkeypatch.setenv``) takes effect at once. Importing this module reads nothing.
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path

# What the chapters use; the package and the tests also call checkout_root, offline, ci, results_dir,
# benchmark_results_dir and display_path.
__all__ = ["APP_NAME", "ENV", "cache_dir", "data_dir", "folders", "results_path"]

APP_NAME = "hybrid-qml-course"  # the distribution's name (pyproject.toml), and the user folders' name

#: every variable the package, the tests and the notebooks read, with what it sets
ENV = {
    "HQC_DATA_DIR": "the offline datasets folder (read only)",
    "HQC_CACHE_DIR": "the caches of chapters 10 and 11",
    "HQC_OFFLINE": "any value but empty or 0: never try the network",
    "HQC_CI": "1: a missing dataset or environment fails the tests instead of skipping them (empty or 0: off)",
    "HQC_QUANV_RESULTS": "chapter 10's benchmark results file",
    "HQC_TRANSFER_RESULTS": "chapter 11's benchmark results file",
    "HQC_CHAPTER05_RESULTS": "chapter 05's results file, as chapters 08 and 09 read it",
    "HQC_BENCHMARK_RESULTS_DIR": "chapter 07's folder of benchmark results",
}

#: which results file each variable replaces
_RESULTS_FILES = {
    "benchmark_quanvolution.json": "HQC_QUANV_RESULTS",
    "benchmark_transfer.json": "HQC_TRANSFER_RESULTS",
    "chapter05_mnist.json": "HQC_CHAPTER05_RESULTS",
}

_PACKAGE_PARENT = Path(__file__).resolve().parent.parent


@cache
def checkout_root() -> Path | None:
    """The repository folder when the package runs from a checkout of the course, else ``None``.

    A checkout is recognised by the course's ``pyproject.toml`` beside the ``hqc_course/`` folder the
    package was imported from; ``site-packages`` has none.
    """
    pyproject = _PACKAGE_PARENT / "pyproject.toml"
    try:
        name = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["name"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None
    return _PACKAGE_PARENT if name == APP_NAME else None


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip() not in ("", "0")


def _env_checkout_or_user(variable: str, user_folder: str) -> Path:
    """``$variable`` if set, else the checkout's ``data/``, else platformdirs' ``user_folder`` for the course."""
    if (env := _env_path(variable)) is not None:
        return env
    if (root := checkout_root()) is not None:
        return root / "data"
    import platformdirs

    return Path(getattr(platformdirs, user_folder)(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """The offline datasets folder: ``$HQC_DATA_DIR``, else the checkout's ``data/``, else the user data folder.

    Introduced in notebook 00. The course only reads it (it may be a shared, read-only folder).
    """
    return _env_checkout_or_user("HQC_DATA_DIR", "user_data_dir")


def cache_dir() -> Path:
    """Where chapters 10 and 11 write their caches: ``$HQC_CACHE_DIR``, else the checkout's ``data/``, else the
    user cache folder (never ``site-packages``, never ``$HQC_DATA_DIR``). Introduced in notebook 10.
    """
    return _env_checkout_or_user("HQC_CACHE_DIR", "user_cache_dir")


def offline() -> bool:
    """Whether ``HQC_OFFLINE`` forbids the network (any value but empty or ``0``)."""
    return _flag("HQC_OFFLINE")


def ci() -> bool:
    """Whether the tests run under CI (``HQC_CI=1``): then missing data fails instead of skipping.

    Empty or ``0`` is off; any other value raises, naming it (the Makefile's shell checks test for ``1``
    exactly, so a ``true`` or ``yes`` would be on here and off there).
    """
    value = os.environ.get("HQC_CI", "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"HQC_CI={value!r}: allowed 1 (CI) or empty / 0 (not CI)")
    return value == "1"


def results_dir() -> Path:
    """The committed ``results/`` folder: the checkout's, else ``../results`` beside the notebook's folder.

    Outside a checkout that is where the notebooks' Colab cells download the files they read.
    """
    root = checkout_root()
    return root / "results" if root is not None else Path("..") / "results"


def results_path(name: str) -> Path:
    """A committed results file: its variable if it has one and it is set (``HQC_QUANV_RESULTS`` …), else
    ``results_dir() / name``. Introduced in notebook 04 (the layer's measured cost).
    """
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise ValueError(f"name must be the name of a file in results/ (no folders), got {name!r}")
    if name in _RESULTS_FILES and (env := _env_path(_RESULTS_FILES[name])) is not None:
        return env
    return results_dir() / name


def benchmark_results_dir() -> Path:
    """Chapter 07's folder of benchmark results: ``$HQC_BENCHMARK_RESULTS_DIR``, else :func:`results_dir`."""
    env = _env_path("HQC_BENCHMARK_RESULTS_DIR")
    return env if env is not None else results_dir()


def display_path(path: Path | str) -> str:
    """``path`` as a reader should see it, without a machine-specific prefix: ``$HQC_DATA_DIR/…``,
    relative to the checkout, ``~/…``, else as given."""
    path = Path(path)
    bases = [(_env_path("HQC_DATA_DIR"), "$HQC_DATA_DIR/"), (_env_path("HQC_CACHE_DIR"), "$HQC_CACHE_DIR/"),
             (checkout_root(), ""), (Path.home(), "~/")]
    for base, label in bases:
        if base is None:
            continue
        try:
            relative = path.resolve().relative_to(base.resolve())
        except ValueError:
            continue
        if relative == Path("."):
            return label.rstrip("/") or "."
        return label + relative.as_posix()
    return path.as_posix()


def folders() -> dict[str, str]:
    """Where the course reads and writes, and why there, in words. Introduced in notebook 00 (environment check)."""
    in_checkout = checkout_root() is not None

    def why(variable: str, fallback: str) -> str:
        return f"set by {variable}" if _env_path(variable) is not None else fallback

    return {
        "datasets (read only)": f"{display_path(data_dir())} ("
                                + why("HQC_DATA_DIR", "the checkout's data/" if in_checkout else "the user data folder") + ")",
        "caches (chapters 10, 11)": f"{display_path(cache_dir())} ("
                                    + why("HQC_CACHE_DIR", "the checkout's data/" if in_checkout else "the user cache folder")
                                    + ")",
        "committed results": f"{display_path(results_dir())} ("
                             + ("the checkout's results/" if in_checkout else "beside the notebooks' folder") + ")",
        "network": "never tried (HQC_OFFLINE is set)" if offline() else "tried when a dataset is not cached (3 s at most)",
    }
