"""The package's layering: settings/files → data/cache → circuits → layers → models → training → benchmark.

A module may import only modules of a lower layer (imports inside functions count too), so there are no
import cycles and the low layers can be read and tested without the high ones.
"""

import ast
from pathlib import Path

import pytest

HELPERS = Path(__file__).resolve().parent.parent / "helpers"

# layer of each module; a module may import helpers modules of strictly lower layers only
LAYER = {
    "settings": 0, "files": 0, "reproducibility": 0, "course": 0,
    "data": 1, "cache": 1,
    "circuits": 2,
    "statevector": 3, "qiskit_circuits": 3,
    "layers": 4,
    "models": 5, "instruments": 5,
    "training": 6,
    "quanvolution": 7, "transfer": 7,
    "benchmark": 8,
}
# plotting draws what it is given: it imports no other helpers module
STANDALONE = {"plotting", "__init__"}


def helpers_imports(path: Path) -> set[str]:
    """The helpers modules that ``path`` imports, anywhere in its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # from .x import y / from . import x
                found |= {node.module} if node.module else {alias.name for alias in node.names}
            elif node.module and node.module.split(".")[0] == "helpers":
                parts = node.module.split(".")
                found |= {parts[1]} if len(parts) > 1 else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("helpers.")}
    return found


# modules, and subpackages (helpers/benchmark/) as one unit whose files may import each other
MODULES = sorted([p.stem for p in HELPERS.glob("*.py")] + [p.parent.name for p in HELPERS.glob("*/__init__.py")])


def module_imports(module: str) -> set[str]:
    package = HELPERS / module
    if package.is_dir():
        return set().union(*(helpers_imports(p) for p in package.glob("*.py"))) - {module}
    return helpers_imports(HELPERS / f"{module}.py")


def test_every_module_has_a_layer():
    assert set(MODULES) == set(LAYER) | STANDALONE, "add the new module to LAYER (or STANDALONE) in this test"


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_only_lower_layers(module):
    imports = module_imports(module)
    if module in STANDALONE:
        assert not imports, f"helpers.{module} must not import other helpers modules, imports {sorted(imports)}"
        return
    upward = sorted(m for m in imports if LAYER.get(m, 99) >= LAYER[module])
    assert not upward, f"helpers.{module} (layer {LAYER[module]}) imports {upward} from its own or a higher layer"
