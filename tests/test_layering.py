"""The package's layering: data → circuits → layers → models → training → applications → the benchmark.

A module may import only modules of a lower layer (imports inside functions count too), so there are no
import cycles and the low layers can be read and tested without the high ones. The benchmark subpackage
has layers of its own, from its catalogue of models up to its command line; its modules never import the
subpackage's ``__init__``, which only re-exports them.
"""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

HELPERS = Path(__file__).resolve().parent.parent / "hqc_course"

# layer of each module; a module may import hqc_course modules of strictly lower layers only
LAYER = {
    "settings": 0, "files": 0, "reproducibility": 0, "course": 0, "runs": 0,
    "data": 1, "cache": 1, "isolate": 1,
    "circuits": 2,
    "statevector": 3, "qiskit_circuits": 3,
    "layers": 4,
    "models": 5, "instruments": 5,
    "training": 6,
    "quanvolution": 7, "transfer": 7,
    # the benchmark: what it can train → what it is → what it needs → storing and judging → running it
    "benchmark.split_labels": 7.9,
    "benchmark.catalogue": 8.0,
    "benchmark.spec": 8.1,
    "benchmark.plan": 8.2,
    "benchmark.cost": 8.3, "benchmark.store": 8.3,
    "benchmark.stats": 8.4, "benchmark.progress": 8.4,
    "benchmark.report": 8.5, "benchmark.cluster": 8.5,
    "benchmark.run": 8.6,
    "benchmark.__main__": 8.7,
    "benchmark": 8.8,
}
# plotting draws what it is given: it imports no other hqc_course module
STANDALONE = {"plotting", "__init__"}


def module_name(path: Path) -> str:
    parts = path.relative_to(HELPERS).with_suffix("").parts
    return ".".join(parts[:-1]) if parts[-1] == "__init__" and len(parts) > 1 else ".".join(parts)


def course_imports(path: Path) -> set[str]:
    """The hqc_course modules that ``path`` imports, anywhere in its code (``benchmark.spec``, ``training``, ...)."""
    found = set()
    package = module_name(path).rsplit(".", 1)[0] if "." in module_name(path) else ""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y / from . import x
                base = package if node.level == 1 else ""
                target = ".".join(p for p in (base, node.module or "") if p)
                found |= {target} if node.module else {f"{base}.{a.name}".strip(".") for a in node.names}
            elif node.module and node.module.split(".")[0] == "hqc_course":
                target = node.module.split(".", 1)[1] if "." in node.module else ""
                names = {f"{target}.{a.name}".strip(".") for a in node.names}
                # "from hqc_course import training" and "from hqc_course.benchmark import spec" name modules
                modules = {n for n in names if n in LAYER or n in STANDALONE}
                found |= modules or {target}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".", 1)[1] for a in node.names if a.name.startswith("hqc_course.")}
    return found


MODULES = sorted(module_name(p) for p in HELPERS.rglob("*.py"))


def test_every_module_has_a_layer():
    assert set(MODULES) == set(LAYER) | STANDALONE, "add the new module to LAYER (or STANDALONE) in this test"


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_only_lower_layers(module):
    path = HELPERS / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = HELPERS / module.replace(".", "/") / "__init__.py"
    imports = course_imports(path)
    if module in STANDALONE:
        assert not imports, f"hqc_course.{module} must not import other hqc_course modules, imports {sorted(imports)}"
        return
    upward = sorted(m for m in imports if LAYER.get(m, 99) >= LAYER[module])
    assert not upward, f"hqc_course.{module} (layer {LAYER[module]}) imports {upward} from its own or a higher layer"


def test_the_benchmark_imports_without_keras_or_tensorflow():
    """The driver, the Dask workers and every reader of results import the benchmark; only a run's own
    process needs Keras (its trainer is imported when the run starts), and loading it costs seconds."""
    code = ("import sys, hqc_course.benchmark, hqc_course.benchmark.__main__; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'jax', 'torch', 'pennylane') if m in sys.modules))")
    env_path = str(HELPERS.parent)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=env_path, env={**os.environ, "PYTHONPATH": env_path})
    assert out.stdout.strip() == "[]", f"importing hqc_course.benchmark loaded {out.stdout.strip()}"
