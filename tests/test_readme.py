"""The README's tables, benchmark headline and versions are generated, never typed: check they are current."""

from pathlib import Path

from tools.notebook_tools import readme_sections

ROOT = Path(__file__).resolve().parents[1]


def test_generated_readme_sections_are_up_to_date():
    readme = (ROOT / "README.md").read_text()
    for name, body in readme_sections(ROOT).items():
        block = f"<!-- BEGIN generated: {name} -->\n{body}\n<!-- END generated: {name} -->"
        assert block in readme, f"README section {name!r} is stale: run `make notebooks` (or python -m tools.notebook_tools readme)"


def test_readme_figure_exists_and_readme_commands_are_the_makefile_targets():
    assert (ROOT / "docs" / "architecture.png").stat().st_size > 10_000
    readme = (ROOT / "README.md").read_text()
    makefile = "".join((ROOT / name).read_text() for name in ("Makefile", "venv.mk", "tfq.mk", "site.mk"))  # with its includes
    for target in ("lab", "test", "notebooks", "site"):
        assert f"make {target}" in readme and f"\n{target}:" in makefile


def test_protocol_2_headline_says_the_verdicts_judge_computes():
    from hqc_course.benchmark import get_config, judge, scale_results
    from tools.notebook_tools import _plan_verdicts

    rows = scale_results(ROOT / "results", "scale")["rows"]
    lines = _plan_verdicts(rows, "scale")
    main = judge(rows, get_config("scale").statistics)["main"]
    assert main, "no main comparison in the committed protocol-2 results"
    for c in main:
        (line,) = [x for x in lines if f"{c['data']}, " in x and f": {c['a']} − {c['b']} = " in x
                   and (f", {c['size']}:" in x or f", {int(c['size']):,}:" in x if c["size"] != "all" else ", all:" in x)]
        assert f"**{c['verdict']}" in line and f"{100 * c['mean difference']:+.2f}" in line
