"""One source of truth for versions: requirements.txt, environment.yml and pyproject agree."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().lstrip("-").strip()
        if "==" in line:
            req = Requirement(line)
            pins[req.name.lower()] = str(req.specifier)
    return pins


def requirements_pins():
    return _pins((ROOT / "requirements.txt").read_text().splitlines())


def environment_pins():
    text = (ROOT / "environment.yml").read_text()
    pip_block = text.split("- pip:", 1)[1]
    return _pins(pip_block.splitlines())


def test_requirements_and_environment_pin_the_same_versions():
    req, env = requirements_pins(), environment_pins()
    assert req, "requirements.txt pins nothing"
    assert req == env, f"drift: only in requirements {req.items() - env.items()}, only in environment.yml {env.items() - req.items()}"


def test_environment_uses_python_311():
    assert re.search(r"^\s*-\s*python=3\.11\s*$", (ROOT / "environment.yml").read_text(), re.M)


def test_pyproject_ranges_admit_the_pinned_versions():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    ranges = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        ranges += extra
    pins = requirements_pins()
    # the pinned CPU build stands in for pyproject's "tensorflow" (same package, no CUDA)
    pins.setdefault("tensorflow", pins.get("tensorflow-cpu", ""))
    for spec in ranges:
        req = Requirement(spec)
        if pins.get(req.name.lower()):
            version = pins[req.name.lower()].lstrip("=")
            assert req.specifier.contains(version), f"{req} does not admit the pinned {version}"


def test_pennylane_pin_is_below_046_and_says_why():
    text = (ROOT / "requirements.txt").read_text()
    version = requirements_pins()["pennylane"].lstrip("=")
    assert tuple(int(p) for p in version.split(".")[:2]) < (0, 46)
    assert re.search(r"#.*pennylane <0\.46.*TensorFlow interface", text), "the reason for the pin must stand beside it"


def test_installed_versions_are_the_pinned_ones():
    from importlib.metadata import version

    for name, spec in requirements_pins().items():
        assert version(name) == spec.lstrip("="), f"{name}: installed {version(name)}, pinned {spec}"
