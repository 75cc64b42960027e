"""Writing files safely, and checksumming them. Introduced in notebook 05 (its results file) and used by the benchmark.

Where files go is :mod:`hqc_course.settings`'s business, not this module's.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_write_text"]


@contextmanager
def atomic_path(path: Path | str, suffix: str = ".tmp") -> Iterator[str]:
    """A temporary file beside ``path`` to write to; when the block ends without an error, it replaces ``path``.

    The temporary file is in the same folder (so that ``os.replace`` is a rename, atomic on POSIX and
    Windows), is synced to disk, and only then replaces ``path``: a crash or a ``kill -9`` at any
    moment leaves either the complete old file or the complete new one. On an error it is removed.
    ``suffix`` is for writers that insist on one (Keras's ``save_weights`` wants ``.weights.h5``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; these are ordinary repository files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half.

    Introduced in notebook 05, which saves its results with it (the benchmark writes every row the same way).
    See :func:`atomic_path` for how.
    """
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)


def file_sha256(path: Path | str) -> str:
    """The sha256 of a file's bytes, as hex (``hashlib.file_digest``: read in blocks, never whole)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
