"""Check that a virtual environment holds exactly the packages a requirements file pins, at those versions.

Usage (from the repository's root): ``VENV/bin/python tools/check_pins.py requirements-site.txt``.
Every installed distribution must be pinned (``name==version``), at that version, and every pin
installed; pip and setuptools, which come with the venv, and the editable course package are not
counted. Exits non-zero with the list of differences. Standard library only.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

COME_WITH_THE_VENV = {"pip", "setuptools"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: Path) -> dict[str, str]:
    found = {}
    for line in requirements.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not version.strip():
            raise SystemExit(f"{requirements}: {line!r} is not an exact pin (name==version)")
        found[norm(name)] = version.strip()
    return found


def differences(requirements: Path) -> list[str]:
    want = pins(requirements)
    out = subprocess.run([sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
                         capture_output=True, text=True, check=True).stdout
    have = {norm(n): v for n, _, v in (line.partition("==") for line in out.split()) if norm(n) not in COME_WITH_THE_VENV}
    return ([f"not pinned: {n}=={v}" for n, v in sorted(have.items()) if n not in want]
            + [f"different: {n}: pinned {want[n]}, installed {v}" for n, v in sorted(have.items()) if n in want and want[n] != v]
            + [f"pinned, not installed: {n}" for n in sorted(want) if n not in have])


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tools/check_pins.py REQUIREMENTS_FILE", file=sys.stderr)
        return 2
    requirements = Path(argv[0])
    problems = differences(requirements)
    if problems:
        print(f"{requirements} does not describe {sys.prefix} exactly:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print(f"check: {sys.prefix} holds exactly the {len(pins(requirements))} packages pinned in {requirements}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
