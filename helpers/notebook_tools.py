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
                    title = line[2:].strip()
                    # "03 — Title" -> "Title": the number is shown next to it anyway
                    return title.split(" — ", 1)[1] if title[:2].isdigit() and " — " in title else title
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


# ------------------------------------------------------------------ README
CHAPTER_SUMMARIES = {
    "00": "course map, how to run, environment check",
    "01": "load MNIST, build and train the seed's CNN, read its mistakes",
    "02": "states, rotations, measurement, entanglement, shots — with PennyLane",
    "03": "the seed's QNN gate by gate, gradients, trainability",
    "04": "why `KerasLayer` is gone and the Keras 3 layer that replaces it",
    "05": "CNN → QNN → softmax against its parameter-matched classical twin",
    "06": "the seed's own CIFAR-10 example, fixed; what a narrow bottleneck costs",
    "07": "seeds, confidence intervals, ablations: does the quantum layer help?",
    "08": "the same QNN in Qiskit: cross-check, finite shots, device noise, hardware cost",
}


def _chapter_table(root: Path) -> str:
    times_file = root / "notebooks" / "run_times.json"
    record = json.loads(times_file.read_text()) if times_file.is_file() else {"seconds": {}}
    rows = ["| # | Chapter | What you learn | Run time* |", "| --- | --- | --- | --- |"]
    for path in chapters(root / "notebooks"):
        seconds = record["seconds"].get(path.name)
        time_text = f"{seconds / 60:.1f} min" if seconds else "not measured"
        rows.append(f"| {path.name[:2]} | [{_title(path)}](notebooks/{path.name}) | "
                    f"{CHAPTER_SUMMARIES.get(path.name[:2], '')} | {time_text} |")
    rows.append("")
    rows.append(f"\\* measured by `make notebooks` ({record.get('machine', 'machine not recorded')}, "
                f"{record.get('date', 'date not recorded')}).")
    return "\n".join(rows)


def _benchmark_headline(root: Path) -> str:
    from helpers.benchmark import comparisons, load_results, summarize, verdict

    path = root / "results" / "benchmark_full.json"
    if not path.is_file():
        return "No committed benchmark results yet: run `python -m helpers.benchmark --config full`."
    results = load_results(path)
    rows = results["rows"]
    config = results["config"]
    expected = len(config["datasets"]) * len(config["models"]) * len(config["seeds"])
    summary = summarize(rows)
    lines = [f"From `results/benchmark_full.json` ({len(rows)} of {expected} runs, "
             f"{len(config['seeds'])} seeds; made by `python -m helpers.benchmark --config full`; "
             "details and plots in chapter 07):", ""]
    standin = {r["dataset"] for r in rows if r.get("is_standin")}
    for dataset in dict.fromkeys(summary["dataset"]):
        s = summary[summary["dataset"] == dataset].set_index("model")
        name = dataset + (" (offline stand-in: CIFAR-100 images of 10 other classes)" if dataset in standin else "")
        accs = ", ".join(f"{m} {s.loc[m, 'mean accuracy']:.3f} ± "
                         + (f"{s.loc[m, 'ci half-width']:.3f}" if s.loc[m, "runs"] >= 3 else "n/a (under 3 seeds)")
                         for m in s.index)
        lines.append(f"- **{name}** — mean test accuracy ± 95% CI: {accs}.")
    for c in comparisons(rows):
        if c["b"].startswith("twin"):
            lines.append(f"- {verdict(c)}")
    return "\n".join(lines)


def _versions(root: Path) -> str:
    pins = [line.strip() for line in (root / "requirements.txt").read_text().splitlines()
            if "==" in line and not line.lstrip().startswith("#")]
    return "Tested with Python 3.11 and " + ", ".join(f"`{p}`" for p in pins) + "."


def readme_sections(root: Path) -> dict[str, str]:
    """The README's generated parts, computed from the repository's files."""
    return {"chapters": _chapter_table(root), "benchmark": _benchmark_headline(root), "versions": _versions(root)}


def update_readme(root: Path) -> bool:
    """Rewrite the generated sections of README.md (and the architecture figure); True if changed."""
    readme = root / "README.md"
    text = original = readme.read_text()
    for name, body in readme_sections(root).items():
        begin, end = f"<!-- BEGIN generated: {name} -->", f"<!-- END generated: {name} -->"
        if begin not in text or end not in text:
            raise ValueError(f"README.md lacks the markers {begin} ... {end}")
        head, rest = text.split(begin, 1)
        text = head + begin + "\n" + body + "\n" + end + rest.split(end, 1)[1]
    if text != original:
        atomic_write_text(readme, text)
    figure = root / "docs" / "architecture.png"
    figure.parent.mkdir(exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    from helpers.plotting import draw_architecture

    draw_architecture().savefig(figure, dpi=110, metadata={"Software": None})
    return text != original


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
    sub.add_parser("readme", help="regenerate README.md's generated sections and docs/architecture.png")
    args = parser.parse_args(argv)
    if args.command == "readme":
        root = Path(__file__).resolve().parent.parent
        print("README.md updated" if update_readme(root) else "README.md already up to date")
    elif args.command == "navigation":
        for path in write_navigation(args.folder):
            print(f"navigation updated: {path.name}")
    else:
        execute_all(args.folder, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
