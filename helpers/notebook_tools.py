"""Maintainer tools for the notebooks (``make notebooks``).

``python -m helpers.notebook_tools execute notebooks`` re-runs every chapter in
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
    notebooks = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
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
    args = parser.parse_args(argv)
    execute_all(args.folder, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
