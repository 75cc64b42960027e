"""The course's chapters as files: their order, numbers, titles and one-line summaries.

Introduced in notebook 00, whose course map is generated from the notebooks that exist; the
README's chapter table (``tools/notebook_tools.py``) is generated the same way. Each chapter
keeps its own summary and needs in its notebook metadata, under ``"hqc"``::

    {"summary": "what the chapter teaches, in one line", "datasets": ["mnist"]}

so there is one place to change them. Reads the notebook files as JSON: no Jupyter needed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Chapter", "chapters", "course_map"]

CHAPTER_FILE = re.compile(r"^\d\d[a-z]?_\w+\.ipynb$")  # "05_hybrid_mnist.ipynb", "03a_the_qnn_circuit.ipynb"
HEADER_TAG, FOOTER_TAG = "course-header", "course-footer"


@dataclass(frozen=True)
class Chapter:
    """One notebook of the course. Introduced in notebook 00."""

    path: Path
    number: str  # "03a"
    title: str
    summary: str
    datasets: tuple[str, ...]  # the datasets it loads (the notebook tests skip it when they are missing)
    kernel: str  # the Jupyter kernel it runs in


def chapters(folder: Path | str) -> list[Path]:
    """The course's notebooks in reading order (``NN_name.ipynb``; parts ``NNa_``, ``NNb_``). Notebook 00."""
    return sorted(p for p in Path(folder).glob("*.ipynb") if CHAPTER_FILE.match(p.name))


def _read(path: Path) -> Chapter:
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    title = path.stem
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and HEADER_TAG not in cell.get("metadata", {}).get("tags", []):
            heading = next((line for line in "".join(cell["source"]).splitlines() if line.startswith("# ")), None)
            if heading:
                title = heading[2:].strip()
                # "03 — Title" -> "Title": the number is shown next to it anyway
                if title[:2].isdigit() and " — " in title:
                    title = title.split(" — ", 1)[1]
                break
    meta = nb.get("metadata", {})
    hqc = meta.get("hqc", {})
    return Chapter(path=Path(path), number=Path(path).name.split("_", 1)[0], title=title,
                   summary=hqc.get("summary", ""), datasets=tuple(hqc.get("datasets", ())),
                   kernel=meta.get("kernelspec", {}).get("name", "python3"))


def course_map(folder: Path | str = ".") -> list[Chapter]:
    """Every chapter in ``folder`` with its number, title, summary and needs. Introduced in notebook 00."""
    return [_read(p) for p in chapters(folder)]
