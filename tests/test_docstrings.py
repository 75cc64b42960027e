"""Every public helper says which notebook introduces it, and that notebook is the right one.

"Introduces" means: the named chapter mentions the helper (in its code or its text), and no
earlier chapter's code imports it. Like d2l's "Defined in ...", this lets a reader find where a
helper is explained. In the benchmark subpackage the helpers are what ``hqc_course.benchmark``
re-exports for the notebooks; its machinery (scheduling, storage, the command line) is not taught
name by name and is not checked here.
"""

import ast
import json
import re
from pathlib import Path

import pytest

from hqc_course.course import chapters

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p for p in (ROOT / "hqc_course").rglob("*.py") if p.name != "__init__.py")
CLAIM = re.compile(r"[Ii]ntroduced in notebook (\d\d[a-z]?)|[Nn]otebook (\d\d[a-z]?)")
ORDER = [p.name.split("_", 1)[0] for p in chapters(ROOT / "notebooks")]


def notebook_text(number):
    path = next(p for p in chapters(ROOT / "notebooks") if p.name.split("_", 1)[0] == number)
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    prose = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return code, prose


TEXTS = {number: notebook_text(number) for number in ORDER}


def exported_names(path):
    tree = ast.parse(path.read_text())
    return tree, next((ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                       and any(getattr(t, "id", None) == "__all__" for t in node.targets)), None)


def public_helpers():
    _, package_exports = exported_names(ROOT / "hqc_course" / "benchmark" / "__init__.py")
    for path in MODULES:
        tree, exported = exported_names(path)
        module = ".".join(path.relative_to(ROOT / "hqc_course").with_suffix("").parts)
        if "." in module:  # a module of the benchmark subpackage: what the package re-exports
            exported = [n for n in (exported or []) if n in package_exports]
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and (
                    node.name in exported if exported is not None else not node.name.startswith("_")):
                yield module, node.name, ast.get_docstring(node) or ""


HELPERS = list(public_helpers())


def imported_by(code, module, name):
    # a subpackage's helper is imported from its module or from the package that re-exports it
    modules = [module] + ([module.split(".")[0]] if "." in module else [])
    return any(re.search(rf"from hqc_course\.{re.escape(m)} import[^\n]*\b{name}\b|from hqc_course\.{re.escape(m)} import "
                         rf"\([^)]*\b{name}\b|\b{re.escape(m)}\.{name}\b", code) for m in modules)


@pytest.mark.parametrize("module, name, doc", HELPERS, ids=[f"{m}.{n}" for m, n, _ in HELPERS])
def test_public_helper_names_the_notebook_that_introduces_it(module, name, doc):
    match = CLAIM.search(doc)
    assert match, f"hqc_course.{module}.{name}: the docstring does not say which notebook introduces it"
    number = match.group(1) or match.group(2)
    assert number in TEXTS, f"hqc_course.{module}.{name}: notebook {number} does not exist (chapters: {ORDER})"
    code, prose = TEXTS[number]
    assert re.search(rf"\b{name}\b", code + prose), f"hqc_course.{module}.{name}: notebook {number} never mentions it"
    earlier = [n for n in ORDER[: ORDER.index(number)] if imported_by(TEXTS[n][0], module, name)]
    assert not earlier, f"hqc_course.{module}.{name}: said to be introduced in {number}, but {earlier[0]} imports it first"
