"""Every public helper says which notebook introduces it, and that notebook is the right one.

"Introduces" means: the named chapter mentions the helper (in its code or its text), and no
earlier chapter's code imports it. Like d2l's "Defined in ...", this lets a reader find where a
helper is explained.
"""

import ast
import json
import re
from pathlib import Path

import pytest

from helpers.course import chapters

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p for p in (ROOT / "helpers").glob("*.py") if p.name != "__init__.py")
CLAIM = re.compile(r"[Ii]ntroduced in notebook (\d\d[a-z]?)|[Nn]otebook (\d\d[a-z]?)")
ORDER = [p.name.split("_", 1)[0] for p in chapters(ROOT / "notebooks")]


def notebook_text(number):
    path = next(p for p in chapters(ROOT / "notebooks") if p.name.split("_", 1)[0] == number)
    cells = json.loads(path.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    prose = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return code, prose


TEXTS = {number: notebook_text(number) for number in ORDER}


def public_helpers():
    for path in MODULES:
        tree = ast.parse(path.read_text())
        exported = next((ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                         and any(getattr(t, "id", None) == "__all__" for t in node.targets)), None)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and (
                    node.name in exported if exported is not None else not node.name.startswith("_")):
                yield path.stem, node.name, ast.get_docstring(node) or ""


HELPERS = list(public_helpers())


def imported_by(code, module, name):
    return re.search(rf"from helpers\.{module} import[^\n]*\b{name}\b|from helpers\.{module} import \([^)]*\b{name}\b|"
                     rf"\b{module}\.{name}\b", code) is not None


@pytest.mark.parametrize("module, name, doc", HELPERS, ids=[f"{m}.{n}" for m, n, _ in HELPERS])
def test_public_helper_names_the_notebook_that_introduces_it(module, name, doc):
    match = CLAIM.search(doc)
    assert match, f"helpers.{module}.{name}: the docstring does not say which notebook introduces it"
    number = match.group(1) or match.group(2)
    assert number in TEXTS, f"helpers.{module}.{name}: notebook {number} does not exist (chapters: {ORDER})"
    code, prose = TEXTS[number]
    assert re.search(rf"\b{name}\b", code + prose), f"helpers.{module}.{name}: notebook {number} never mentions it"
    earlier = [n for n in ORDER[: ORDER.index(number)] if imported_by(TEXTS[n][0], module, name)]
    assert not earlier, f"helpers.{module}.{name}: said to be introduced in {number}, but {earlier[0]} imports it first"
