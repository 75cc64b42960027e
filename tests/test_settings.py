"""hqc_course.settings: one module reads every HQC_* variable, and an installed package never writes into itself."""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hqc_course import settings

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clean_env(monkeypatch):
    for name in settings.ENV:
        monkeypatch.delenv(name, raising=False)


def test_in_a_checkout_data_and_caches_default_to_its_data_folder(clean_env):
    assert settings.checkout_root() == ROOT
    assert settings.data_dir() == settings.cache_dir() == ROOT / "data"
    assert settings.results_path("benchmark_transfer.json") == ROOT / "results" / "benchmark_transfer.json"


def test_variables_win_and_are_read_at_every_call(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("HQC_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("HQC_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("HQC_QUANV_RESULTS", str(tmp_path / "q.json"))
    assert settings.cache_dir() == tmp_path / "c" and settings.data_dir() == tmp_path / "d"
    assert settings.results_path("benchmark_quanvolution.json") == tmp_path / "q.json"
    assert settings.results_path("benchmark_transfer.json") == ROOT / "results" / "benchmark_transfer.json"
    monkeypatch.setenv("HQC_CI", "1")
    monkeypatch.setenv("HQC_OFFLINE", "0")
    assert settings.ci() and not settings.offline()
    monkeypatch.setenv("HQC_OFFLINE", "yes")
    assert settings.offline()
    monkeypatch.setenv("HQC_CI", "0")
    assert not settings.ci()
    monkeypatch.setenv("HQC_CI", "yes")  # on for HQC_OFFLINE's rule, off for the Makefile's: refused, named
    with pytest.raises(ValueError, match=r"HQC_CI='yes': allowed 1"):
        settings.ci()
    assert settings.display_path(tmp_path / "d" / "mnist.npz") == "$HQC_DATA_DIR/mnist.npz"
    assert settings.display_path(tmp_path / "d") == "$HQC_DATA_DIR" and settings.display_path(ROOT) == "."


@pytest.mark.parametrize("name", ["", "../x.json", "sub/x.json", ".", None])
def test_results_path_refuses_anything_but_a_file_name(name):
    with pytest.raises(ValueError, match="name must be the name of a file in results/"):
        settings.results_path(name)


def test_an_installed_package_keeps_its_caches_out_of_site_packages(tmp_path):
    """A copy of hqc_course/ without the repository around it (as pip install git+… leaves it) is not a checkout:
    caches go to the user's cache folder (platformdirs), datasets are read from the user's data folder."""
    site = tmp_path / "site-packages"
    shutil.copytree(ROOT / "hqc_course", site / "hqc_course", ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in settings.ENV}
    env.update(PYTHONPATH=str(site), HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
               XDG_DATA_HOME=str(tmp_path / "xdg-data"))
    code = ("import hqc_course.settings as s; print(s.__file__); print(s.checkout_root()); print(s.cache_dir()); "
            "print(s.data_dir()); print(s.results_path('benchmark_transfer.json'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[0].startswith(str(site)) and out[1] == "None"
    assert out[2] == str(tmp_path / "xdg-cache" / "hybrid-qml-course")
    assert out[3] == str(tmp_path / "xdg-data" / "hybrid-qml-course")
    assert out[4] == str(Path("..") / "results" / "benchmark_transfer.json")


def hqc_variables_named(path: Path) -> set[str]:
    """HQC_* variable names that ``path``'s code spells out as a string of its own (to read or pass on)."""
    return {node.value for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and re.fullmatch(r"HQC_[A-Z0-9_]+", node.value)}


def test_only_hqc_course_settings_names_hqc_variables_in_code():
    readers = {}
    for path in [*ROOT.glob("hqc_course/**/*.py"), ROOT / "conftest.py", *ROOT.glob("tools/*.py")]:
        if path.name != "settings.py" and (names := hqc_variables_named(path)):
            readers[str(path.relative_to(ROOT))] = sorted(names)
    assert not readers, f"read HQC_* variables through hqc_course.settings, not os.environ: {readers}"


def test_the_chapters_read_hqc_variables_through_hqc_course_settings():
    import json

    readers = []
    for path in sorted(ROOT.glob("notebooks/*.ipynb")):
        code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
        if re.search(r"(environ(\.get)?\(|environ\[|getenv\()\s*[\"']HQC_", code):
            readers.append(path.name)
    assert not readers, f"these chapters read HQC_* variables themselves: use hqc_course.settings ({readers})"


def test_every_variable_the_course_mentions_is_registered():
    mentioned = set()
    for path in [*ROOT.glob("hqc_course/**/*.py"), *ROOT.glob("notebooks/*.ipynb"), *ROOT.glob("tests/*.py"),
                 ROOT / "conftest.py", ROOT / "README.md", ROOT / "Makefile"]:
        mentioned |= set(re.findall(r"\bHQC_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    assert mentioned <= set(settings.ENV), f"not in hqc_course.settings.ENV: {sorted(mentioned - set(settings.ENV))}"
