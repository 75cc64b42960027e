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
