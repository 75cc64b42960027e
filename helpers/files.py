"""Writing files safely. Introduced in notebook 05 (its results file) and used by the benchmark."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_text"]


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half.

    Introduced in notebook 05, which saves its results with it (the benchmark writes every row the same way).

    The text goes to a temporary file in the same folder, is flushed to disk, and then
    replaces ``path`` in one ``os.replace`` (atomic on POSIX and Windows): a crash or a
    ``kill -9`` at any moment leaves either the complete old file or the complete new one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; these are ordinary repository files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
