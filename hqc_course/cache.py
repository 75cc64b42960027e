"""Checked caches: an ``.npz`` file that records what it was computed from and a checksum of its arrays.

Introduced in notebook 10 (its quantum features); notebook 11's trunk features use it too.

A cache file holds the arrays, a JSON *record* of everything they were computed from (the caller's
``meta``: circuit or recipe, data fingerprint, image digests …) and a sha256 of the arrays. It is
used only when the record equals the caller's ``meta`` exactly and the checksum matches; anything
else — another recipe, other data, a truncated or tampered file — is rebuilt and says why. Writes
are atomic (:func:`hqc_course.files.atomic_path`), so a killed run never leaves half a file.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hqc_course.files import atomic_path

__all__ = ["cached_arrays"]

_RESERVED = ("meta", "checksum")


def arrays_checksum(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 over the arrays' names, dtypes, shapes and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def read_cache(path: Path, meta: Mapping[str, Any]) -> tuple[dict[str, np.ndarray] | None, str]:
    """The arrays of the cache file ``path``, or ``None`` and why it cannot be used."""
    try:
        with np.load(path, allow_pickle=False) as f:
            stored = {k: f[k] for k in f.files}
        record, checksum = json.loads(str(stored.pop("meta"))), str(stored.pop("checksum"))
    except Exception as error:  # noqa: BLE001 - any unreadable file is rebuilt, never trusted
        return None, f"unreadable ({type(error).__name__})"
    if record != json.loads(json.dumps(meta, sort_keys=True)):
        return None, "made for another recipe, data or image set"
    if arrays_checksum(stored) != checksum:
        return None, "checksum mismatch (corrupt)"
    return stored, ""


def write_cache(path: Path, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` with their record and checksum to ``path``, atomically."""
    clash = [name for name in arrays if name in _RESERVED]
    if clash:
        raise ValueError(f"array names {clash} are reserved in a cache file: rename them")
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, meta=np.array(json.dumps(meta, sort_keys=True)), checksum=np.array(arrays_checksum(arrays)),
                     **arrays)
    except OSError as error:  # e.g. an unwritable HQC_CACHE_DIR: say which folder, and how to choose another
        raise cache_write_error(path, error) from error


def cache_write_error(path: Path, error: OSError) -> OSError:
    """``error`` (same class) with a message that names the cache file and ``HQC_CACHE_DIR``. Notebook 10."""
    message = (f"cannot write the cache file {path} ({error.strerror or error}): the cache folder is $HQC_CACHE_DIR "
               "if set (hqc_course.settings.cache_dir); set HQC_CACHE_DIR to a writable folder")
    return OSError(error.errno, message) if error.errno is not None else type(error)(message)


def cached_arrays(path: Path, meta: Mapping[str, Any], build: Callable[[], Mapping[str, np.ndarray]],
                  use_cache: bool = True, check: Callable[[Mapping[str, np.ndarray]], str] | None = None,
                  ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays ``build()`` returns, computed once and then read from the cache file ``path``.

    Introduced in notebook 10. ``meta`` is everything the arrays depend on (JSON-serialisable); the
    file is used only if its record equals it and its checksum matches. ``check``, if given, may
    refuse a file that passed both (it returns why, or ``""``). Returns ``(arrays, info)``; ``info``
    has ``"status"`` (``"hit"``, ``"built"``, ``"rebuilt (<why>)"`` or ``"off"`` when ``use_cache`` is
    false), ``"file"`` (the name, or ``None``) and ``"seconds"``.
    """
    path = Path(path)
    start = time.perf_counter()
    if not use_cache:
        arrays = dict(build())
        return arrays, {"status": "off", "file": None, "seconds": time.perf_counter() - start}
    status = "built"
    if path.exists():
        stored, why = read_cache(path, meta)
        if stored is not None and check is not None:
            why = check(stored)
            stored = None if why else stored
        if stored is not None:
            return stored, {"status": "hit", "file": path.name, "seconds": time.perf_counter() - start}
        status = f"rebuilt ({why})"
    arrays = dict(build())
    write_cache(path, meta, arrays)
    return arrays, {"status": status, "file": path.name, "seconds": time.perf_counter() - start}
