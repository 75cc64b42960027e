"""Maintainer tools for the notebooks (``make notebooks``).

* ``python -m helpers.notebook_tools navigation notebooks`` writes the same header
  cell (Colab and Binder badges for that notebook) and footer cell (previous / index /
  next links) into every chapter, so nobody edits them by hand;
* ``python -m helpers.notebook_tools execute notebooks`` re-runs every chapter in
  order, in place, with the current environment's kernel, and records how long each
  took in ``notebooks/run_times.json`` (the README's chapter table reads it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from helpers.files import atomic_write_text


REPOSITORY = "hybrid-qml-course/hybrid-qml-course"  # GitHub owner/name: the badges point here
HEADER_TAG, FOOTER_TAG = "course-header", "course-footer"


def chapters(folder: Path) -> list[Path]:
    """The course's notebooks, in reading order (``NN_name.ipynb``)."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def _title(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and HEADER_TAG not in cell.metadata.get("tags", []):
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def header_markdown(path: Path) -> str:
    name = path.name
    colab = f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/notebooks/{name}"
    binder = f"https://mybinder.org/v2/gh/{REPOSITORY}/main?urlpath=lab/tree/notebooks/{name}"
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab}) "
            f"[![Launch Binder](https://mybinder.org/badge_logo.svg)]({binder})")


def footer_markdown(paths: list[Path], index: int) -> str:
    parts = []
    if index > 0:
        parts.append(f"← previous: [{_title(paths[index - 1])}]({paths[index - 1].name})")
    parts.append("[course index](00_index.ipynb)")
    if index + 1 < len(paths):
        parts.append(f"next: [{_title(paths[index + 1])}]({paths[index + 1].name}) →")
    return "---\n\n" + " · ".join(parts)


def write_navigation(folder: Path) -> list[Path]:
    """(Re)write the tagged header and footer cells of every chapter; returns the changed files."""
    paths = chapters(folder)
    changed = []
    for i, path in enumerate(paths):
        nb = nbformat.read(path, as_version=4)
        cells = [c for c in nb.cells if not {HEADER_TAG, FOOTER_TAG} & set(c.metadata.get("tags", []))]
        header = nbformat.v4.new_markdown_cell(header_markdown(path), metadata={"tags": [HEADER_TAG]})
        footer = nbformat.v4.new_markdown_cell(footer_markdown(paths, i), metadata={"tags": [FOOTER_TAG]})
        old = [(c.cell_type, c.source) for c in nb.cells]
        nb.cells = [header, *cells, footer]
        if [(c.cell_type, c.source) for c in nb.cells] != old:
            # keep the ids of unchanged cells; new cells get fresh ones from nbformat
            atomic_write_text(path, nbformat.writes(nb) + "\n")
            changed.append(path)
    return changed


def execute_notebook(path: Path, timeout: int = 900) -> float:
    """Execute one notebook in place (cwd = its folder); returns seconds taken."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    atomic_write_text(path, nbformat.writes(nb) + "\n")
    return seconds


def execute_all(folder: Path, only: list[str] | None = None) -> dict[str, float]:
    folder = Path(folder)
    notebooks = chapters(folder)
    if only:
        notebooks = [nb for nb in notebooks if any(nb.name.startswith(o) for o in only)]
        if not notebooks:
            raise SystemExit(f"no notebook in {folder} starts with any of {only}")
    times_file = folder / "run_times.json"
    record = json.loads(times_file.read_text()) if times_file.is_file() else {}
    record.setdefault("seconds", {})
    for nb in notebooks:
        print(f"executing {nb.name} ...", flush=True)
        seconds = execute_notebook(nb)
        print(f"  {nb.name}: {seconds:.0f} s", flush=True)
        record["seconds"][nb.name] = round(seconds, 1)
        record["machine"] = f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}"
        record["date"] = time.strftime("%Y-%m-%d")
        atomic_write_text(times_file, json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record["seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.notebook_tools")
    sub = parser.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("execute", help="re-execute notebooks in place, in order")
    ex.add_argument("folder", type=Path)
    ex.add_argument("--only", nargs="*", help="notebook name prefixes, e.g. 00 03")
    nav = sub.add_parser("navigation", help="write the header and footer cells of every chapter")
    nav.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    if args.command == "navigation":
        for path in write_navigation(args.folder):
            print(f"navigation updated: {path.name}")
    else:
        execute_all(args.folder, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
