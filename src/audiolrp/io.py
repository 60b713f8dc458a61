"""Atomic file writes shared by every module that writes files.

A file is written to a temporary file in the same folder and renamed over the target with
:func:`os.replace`, so readers never see a half-written file and a failed write leaves the old file
(if any) untouched. The temporary file is created with mode ``0o666`` filtered by the process umask,
exactly like :func:`open` would, so the final file has the usual permissions (unlike
:func:`tempfile.mkstemp`, whose ``0o600`` would make shipped models, WAVs, reports and datasets
readable only by their owner).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "json_default"]

_TEMP_SUFFIX = ".tmp"


def _create_temp(path: Path, suffix: str) -> tuple[int, Path]:
    """Create a new, empty temp file next to ``path``; returns ``(fd, temp_path)``.

    ``os.open`` with mode ``0o666`` lets the kernel apply the umask (thread-safe, unlike
    reading it with ``os.umask``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = _TEMP_SUFFIX) -> Iterator[Path]:
    """Yield a temp path in the folder of ``path``; rename it to ``path`` when the block succeeds.

    The temp file already exists (empty, normal permissions) so writers that open it for writing
    (``h5py.File(tmp, "w")``, ``soundfile.write``, ``Figure.savefig``, ``np.savez``) keep its
    permissions. On any exception the temp file is removed and the exception propagates.

    Parameters
    ----------
    path
        Final file path; its folder is created if missing.
    suffix
        Ending of the temp file name, for writers that pick the format from it (e.g. ``".wav"``,
        ``".npz"``).
    """
    path = Path(path)
    fd, tmp = _create_temp(path, suffix)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically write ``data`` to ``path`` (fsynced before the rename); returns ``path``."""
    path = Path(path)
    fd, tmp = _create_temp(path, _TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Atomically write ``text`` (encoded with ``encoding``) to ``path``; returns ``path``."""
    return atomic_write_bytes(path, text.encode(encoding))


def json_ready(obj: Any) -> Any:
    """A JSON-ready copy of ``obj``: arrays/tensors -> lists, dict keys -> str, NaN/inf -> None.

    Suitable for ``json.dumps(json_ready(obj), allow_nan=False)`` (strict JSON).
    """
    if hasattr(obj, "tolist"):  # NumPy arrays and scalars, torch tensors
        obj = obj.tolist()
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_ready(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def json_default(obj: Any) -> Any:
    """``default=`` hook for :func:`json.dumps`: paths, NumPy/torch arrays and scalars, dataclasses.

    Raises
    ------
    TypeError
        For any other type (as :mod:`json` expects).
    """
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "tolist"):  # NumPy arrays and scalars, torch tensors
        return obj.tolist()
    if is_dataclass(obj) and not isinstance(obj, type):
        return asdict(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def json_text(
    obj: Any,
    *,
    indent: int | None = 2,
    sort_keys: bool = False,
    allow_nan: bool = True,
    ensure_ascii: bool = True,
    default: Callable[[Any], Any] | None = json_default,
) -> str:
    """``json.dumps(obj, ...)`` plus a final newline: the text of every JSON file audiolrp writes.

    ``default`` converts what :mod:`json` cannot (:func:`json_default`; ``None``: raise).
    """
    return json.dumps(
        obj,
        indent=indent,
        sort_keys=sort_keys,
        allow_nan=allow_nan,
        ensure_ascii=ensure_ascii,
        default=default,
    ) + "\n"


def write_json(path: str | os.PathLike[str], obj: Any, **options: Any) -> Path:
    """Atomically write ``obj`` as JSON (:func:`json_text` with ``options``); returns ``path``."""
    return atomic_write_text(path, json_text(obj, **options))
