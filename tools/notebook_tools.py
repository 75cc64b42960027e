"""Maintainer tools for the notebooks (``make notebooks``).

Not part of the installed ``hqc_course`` package: it needs nbformat and nbclient (installed with
JupyterLab) and is run from the repository's root.

* ``python -m tools.notebook_tools navigation notebooks`` writes the same header
  cell (Colab and Binder badges for that notebook, built from the repository setting
  ``[tool.hqc-course]`` in pyproject.toml, see ``tools/repository.py``) and footer cell (previous / index /
  next links) into every chapter, so nobody edits them by hand;
* ``python -m tools.notebook_tools execute notebooks`` re-runs every chapter in
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

from hqc_course.course import FOOTER_TAG, HEADER_TAG, chapters, course_map
from hqc_course.files import atomic_write_text
from tools.repository import repository


def _title(path: Path) -> str:
    return next(c.title for c in course_map(path.parent) if c.path.name == path.name)


def header_markdown(path: Path) -> str:
    """The header cell: Colab and Binder badges for this notebook, from the repository setting (tools/repository.py)."""
    return repository().badges_markdown(f"notebooks/{path.name}")


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
def _chapter_table(root: Path) -> str:
    times_file = root / "notebooks" / "run_times.json"
    record = json.loads(times_file.read_text()) if times_file.is_file() else {"seconds": {}}
    rows = ["| # | Chapter | What you learn | Run time* |", "| --- | --- | --- | --- |"]
    for chapter in course_map(root / "notebooks"):
        seconds = record["seconds"].get(chapter.path.name)
        time_text = f"{seconds / 60:.1f} min" if seconds else "not measured"
        rows.append(f"| {chapter.number} | [{chapter.title}](notebooks/{chapter.path.name}) | "
                    f"{chapter.summary} | {time_text} |")
    rows.append("")
    rows.append(f"\\* measured by `make notebooks` ({record.get('machine', 'machine not recorded')}, "
                f"{record.get('date', 'date not recorded')}).")
    return "\n".join(rows)


#: the benchmark whose results the README quotes (protocol 1 until protocol 2's grid is complete)
README_BENCHMARK = "scale_v1"


def _benchmark_headline(root: Path) -> str:
    """The README's benchmark section: from the export of the benchmark's store."""
    from hqc_course.benchmark import cap_share, comparisons, scale_results, summarize, verdict

    try:
        results = scale_results(root / "results", README_BENCHMARK)
    except FileNotFoundError:
        return (f"No committed benchmark results yet: run `python -m hqc_course.benchmark run --config {README_BENCHMARK}` "
                "(see chapter 07).")
    rows, expected = results["rows"], results["planned_runs"]
    final = [r for r in rows if r["phase"] == "final"]
    source = f"`results/benchmark_{README_BENCHMARK}.json`"
    complete = len(rows) == expected
    replaced = README_BENCHMARK == "scale_v1"
    lines = [("**Protocol 1, which the course has replaced** (chapter 07 says why: most of its tuned learning rates "
              "sat on an edge of their grid, it tuned on accuracy while stopping on loss, and patience 5 stopped slow "
              "learners early); protocol 2 (`--config scale`) is running and will replace these numbers. "
              if replaced else "")
             + f"From {source} ({len(rows)} of {expected} planned runs"
             + ("" if complete else ": **the benchmark is still running; these are partial results**")
             + f"; protocol `--config {README_BENCHMARK}`; "
             + ("chapter 07 counts what protocol 2 changed)." if replaced else "method, plots and explanation in chapter 07)."),
             ""]
    if not final:
        lines.append("No final runs have finished yet (the learning rates are being tuned).")
        return "\n".join(lines)
    if not replaced:
        return "\n".join(lines + _plan_verdicts(rows, README_BENCHMARK))
    summary = summarize(final)
    for (data, size), s in summary.groupby(["data", "size"], sort=False):
        s = s.set_index("model")
        accs = ", ".join(f"{m} {s.loc[m, 'mean accuracy']:.3f} ± "
                         + (f"{s.loc[m, 'ci half-width']:.3f}" if s.loc[m, "runs"] >= 3 else "n/a (under 3 seeds)")
                         for m in s.index)
        lines.append(f"- **{data}, {size} training images** — mean test accuracy ± 95% CI: {accs}.")
    family = comparisons(final)
    main = [c for c in family if c["a"] == "hybrid_4q" and c["b"] == "twin_4q"]
    if main:
        pairs = [d for c in main for d in c["differences"]]
        below, above = sum(d < 0 for d in pairs), sum(d > 0 for d in pairs)
        shown = sum(c["significant"] for c in main)
        lines.append(f"- **hybrid_4q against its classical twin twin_4q**: below it in {below} and above it in {above} of "
                     f"the {len(pairs)} seed pairs over {len(main)} settings; the difference is significant after "
                     f"Holm's correction over the family of {main[0]['family size']} comparisons in {shown} of "
                     f"{len(main)} settings (with 3-5 seeds a t-test has little power; no setting was tested for "
                     "equivalence).")
    for c in main:
        lines.append(f"- {verdict(c)}")
    lines.append(f"- {cap_share(final):.0%} of the finished final runs reached the epoch cap.")
    return "\n".join(lines)


def _plan_verdicts(rows: list[dict], config: str) -> list[str]:
    """The README lines of a benchmark judged by its own statistics plan (protocol 2): one line per cell of the
    main family, the tally of verdicts, the secondary family's, and the cap share — the numbers of chapter 07."""
    from hqc_course.benchmark import cap_share, family_table, get_config, judge, pairing_check, summarize
    from hqc_course.data import DATASETS

    plan = get_config(config).statistics
    final = [r for r in rows if r["phase"] == "final"]
    judged = judge(rows, plan)
    marks = pairing_check(rows, plan, judged=judged)  # the verdicts all-paired, beside these
    lines = []
    summary = summarize(final)
    summary = summary.assign(order=summary["dataset"].map(DATASETS.index)).sort_values(["order", "n_train"])
    for (data, size), s in summary.groupby(["data", "size"], sort=False):
        s = s.set_index("model")
        size = "all" if size == "all" else f"{int(size):,}"
        accs = ", ".join(f"{m} {100 * s.loc[m, 'mean accuracy']:.1f} ± "
                         + (f"{100 * s.loc[m, 'ci half-width']:.1f}" if s.loc[m, "runs"] >= plan.min_seeds
                            else f"n/a ({s.loc[m, 'runs']} of {plan.min_seeds} seeds needed)")
                         for m in s.index)
        lines.append(f"- **{data}, {size} training images** — mean test accuracy in % ± 95% CI (seeds and test "
                     f"images): {accs}.")
    m = 100 * plan.equivalence_margin
    for family in ("main", "secondary"):
        table = family_table(judged[family], marks)
        if table.empty:
            lines.append(f"- **{family} family**: no comparison has {plan.min_seeds} shared seeds yet.")
            continue
        tally = table["verdict"].str.rstrip("†").value_counts()
        lines.append(f"- **{family.capitalize()} family** ({len(table)} comparisons, Holm inside the family; "
                     f"equivalence margin ±{m:g} point): " + ", ".join(f"{v} {n}" for v, n in tally.items())
                     + ("; † = would change if every cell were tested paired" if table["verdict"].str.endswith("†").any()
                        else "") + ".")
        if family == "main":
            for r in table.to_dict("records"):
                lines.append(f"  - {r['data']}, {r['size']}: {r['a']} − {r['b']} = {r['a − b']:+.2f} ± {r['± 95%']:.2f} "
                             f"points ({r['test']}, {r['seeds']} seeds): **{r['verdict']}**")
    lines.append(f"- {cap_share(final):.0%} of the finished final runs reached the epoch cap (target: under 10%).")
    return lines


def _engine_speed(root: Path) -> str:
    """The README's figures of the benchmark engine's speed: from results/bench_engine.json."""
    path = root / "results" / "bench_engine.json"
    if not path.exists():
        return "Not measured yet: run `python -m tools.bench_engine` on an idle machine."
    d = json.loads(path.read_text())
    per_run = d["per_run"]
    rate = {(r["model"], r["steps_per_execution"]): r["samples_per_s"] for r in per_run["rows"]}
    models = ("cnn", "twin", "hybrid")
    same = per_run["same_weights_with_either_setting"]
    peer = per_run["peer_classical_control"]["samples_per_s"]
    ratio = per_run["twin_vs_peer_classical_control"]
    over, ceiling = d["overhead"], d["ceiling"]
    g1, g1b, g2 = d["grid_1"], d["grid_1_two_threads"], d["grid_2"]
    targets = {t["target"]: t for t in d["targets"]}
    speedup_target = next(t for name, t in targets.items() if name.startswith("speed-up"))
    lines = [
        f"Measured by `python -m tools.bench_engine` on {d['machine']}, {d['date']}, otherwise idle "
        "(`results/bench_engine.json`):",
        "",
        "- **Per run** (1,000 MNIST digits, batch 32, one thread): "
        + ", ".join(f"{m} {rate[(m, 32)]:,.0f} samples/s" for m in models)
        + " with `steps_per_execution=32`, the benchmark's setting, against "
        + ", ".join(f"{rate[(m, 1)]:,.0f}" for m in models)
        + " with 1 (" + ", ".join(f"{per_run['speedup_from_steps_per_execution'][m]:.2f}×" for m in models) + "); "
        + ("the same weights either way" if all(same.values())
           else "weights differ between the settings for " + ", ".join(m for m, ok in same.items() if not ok))
        + f". The twin runs at {ratio['now']:.2f}× the PennyLane TorchLayer stack's classical control in PyTorch "
        f"({peer:,.0f} samples/s; {ratio['before']:.2f}× with `steps_per_execution=1`).",
        f"- **The engine's overhead**: from `submit` to a run starting on an idle worker, median "
        f"{1000 * over['submit_to_start']['median']:.0f} ms; a worker's warm child process takes the run over in "
        f"{1000 * over['start_to_trainer_warm']['median']:.1f} ms, a fresh one (every 8th run) in "
        f"{over['start_to_trainer_fresh']['median']:.1f} s (Python and TensorFlow start).",
        f"- **Two workers**: a grid of {g2['runs']} real runs took {g1['wall_seconds']:.0f} s on 1 worker (one thread "
        f"per run), {g1b['wall_seconds']:.0f} s on 1 worker with two threads per run, and {g2['wall_seconds']:.0f} s "
        f"on 2 workers: {d['speedup_2_over_1']:.2f}× and {d['speedup_2_over_1_two_threads']:.2f}× faster (target "
        f"1.8×: {'met' if speedup_target['met'] else 'missed'}). Two bare trainings at once, without Dask, give "
        f"{ceiling['ceiling_speedup']:.2f}× one alone on this machine, so the engine reaches "
        f"{d['speedup_over_ceiling']:.0%} of what its two cores allow. What is lost: a run took "
        f"{g1['run_seconds_mean']:.1f} s on average alone and {g2['run_seconds_mean']:.1f} s with two at once "
        f"({g2['run_seconds_mean'] / g1['run_seconds_mean'] - 1:+.0%}: a whole run — loading data, building the graph, "
        "evaluating — suffers more from sharing memory and caches than steady training epochs do), and the two workers "
        f"were in runs {g2['workers_busy_share']:.0%} of the wall time (the first runs start fresh processes; the last "
        "run leaves one worker idle). During the 2-worker grid the cores were "
        + " and ".join(f"{c:.0f} %" for c in g2["cpu_percent_per_core_mean"]) + " busy on average.",
    ]
    return "\n".join(lines)


def _versions(root: Path) -> str:
    pins = [line.strip() for line in (root / "requirements.txt").read_text().splitlines()
            if "==" in line and not line.lstrip().startswith("#")]
    extras = [line.strip() for line in (root / "requirements-torch.txt").read_text().splitlines()
              if "==" in line and not line.lstrip().startswith("#")]
    return ("Tested with Python 3.11 (and the unit tests on 3.12) and " + ", ".join(f"`{p}`" for p in pins + extras)
            + ". Chapter 09's environment: `requirements-tfq.txt`.")


def readme_sections(root: Path) -> dict[str, str]:
    """The README's generated parts, computed from the repository's files."""
    return {"badges": repository(root / "pyproject.toml").badges_markdown("notebooks/00_index.ipynb"),
            "chapters": _chapter_table(root), "benchmark": _benchmark_headline(root), "engine-speed": _engine_speed(root),
            "versions": _versions(root)}


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
    from hqc_course.plotting import draw_architecture

    draw_architecture().savefig(figure, dpi=110, metadata={"Software": None})
    return text != original


def execute_notebook(path: Path, timeout: int = 900) -> float:
    """Execute one notebook in place (cwd = its folder) with its own kernel; returns seconds taken.

    The kernel is the one the notebook names (chapter 09 runs in the TensorFlow Quantum
    environment's ``hqc-tfq`` kernel, see tfq.mk); the others name ``python3``.
    """
    nb = nbformat.read(path, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "python3")
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
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
    present = {p.name for p in folder.glob("*.ipynb")}
    record["seconds"] = {k: v for k, v in record["seconds"].items() if k in present}  # renamed or split chapters
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
    parser = argparse.ArgumentParser(prog="python -m tools.notebook_tools")
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
