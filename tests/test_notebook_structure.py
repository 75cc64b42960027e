"""Every chapter follows the course skeleton, was executed cleanly, and the index links it."""

import json
import re
from pathlib import Path

import pytest

from tools.notebook_tools import FOOTER_TAG, HEADER_TAG, chapters, footer_markdown, header_markdown

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = chapters(NOTEBOOKS)
SECTIONS = ("Overview", "Prerequisites", "Setup", "Exercises", "Summary", "What's next", "References")
# absolute paths of common systems, and this machine's kind of user folder
ABSOLUTE_PATH = re.compile(r"(?<![\w.$~])(/(home|root|work|tmp|Users|opt|usr|var)/|[A-Za-z]:\\\\)")


def load(path):
    return json.loads(path.read_text())


def output_texts(nb):
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            if "text" in out:
                yield "".join(out["text"])
            for key, value in out.get("data", {}).items():
                if key.startswith("text/"):
                    yield "".join(value)


def test_there_are_chapters():
    assert len(CHAPTERS) >= 2 and CHAPTERS[0].name == "00_index.ipynb"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_says_what_it_teaches(path):
    # the index's course map and the README's chapter table are generated from this line
    summary = load(path)["metadata"].get("hqc", {}).get("summary", "")
    assert len(summary.split()) >= 5, f"{path.name}: metadata hqc.summary is missing or too short: {summary!r}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_the_skeleton_sections(path):
    headings = [line[3:].strip() for cell in load(path)["cells"] if cell["cell_type"] == "markdown"
                for line in "".join(cell["source"]).splitlines() if line.startswith("## ")]
    missing = [s for s in SECTIONS if s not in headings]
    assert not missing, f"{path.name} lacks sections {missing}"
    order = [headings.index(s) for s in SECTIONS]
    assert order == sorted(order), f"{path.name}: sections out of order: {headings}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_was_executed_in_order_without_errors(path):
    code = [c for c in load(path)["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c.get("execution_count") for c in code]
    assert None not in counts, f"{path.name}: {counts.count(None)} code cells never executed"
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: not one clean run in order: {counts}"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: error outputs committed"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_outputs_hold_no_absolute_paths_or_machine_names(path):
    import socket

    host = socket.gethostname()
    for text in output_texts(load(path)):
        match = ABSOLUTE_PATH.search(text)
        assert not match, f"{path.name}: absolute path in an output: ...{text[max(0, match.start() - 40):match.end() + 40]}..."
        assert len(host) < 4 or host not in text, f"{path.name}: the machine name {host!r} is in an output"


@pytest.mark.parametrize("index", range(len(CHAPTERS)))
def test_header_and_footer_cells_are_the_generated_ones(index):
    path = CHAPTERS[index]
    cells = load(path)["cells"]
    assert HEADER_TAG in cells[0]["metadata"].get("tags", []), f"{path.name}: run make notebooks (header missing)"
    assert FOOTER_TAG in cells[-1]["metadata"].get("tags", []), f"{path.name}: run make notebooks (footer missing)"
    assert "".join(cells[0]["source"]) == header_markdown(path)
    assert "".join(cells[-1]["source"]) == footer_markdown(CHAPTERS, index), f"{path.name}: footer out of date"


def test_index_links_every_chapter_that_exists():
    index = load(NOTEBOOKS / "00_index.ipynb")
    index["cells"] = [c for c in index["cells"] if not {HEADER_TAG, FOOTER_TAG} & set(c["metadata"].get("tags", []))]
    text = "\n".join(output_texts(index))  # the course map is generated from the files that exist
    for path in CHAPTERS[1:]:
        assert f"]({path.name})" in text, f"00_index does not link {path.name}"
