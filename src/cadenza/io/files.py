"""Atomic writes: a file is written beside its target under a temporary name and renamed,
so an interrupted write never leaves a half file, and nothing is overwritten without force."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from cadenza.errors import OptionError, OutputExistsError

_UMASK = os.umask(0)
os.umask(_UMASK)


def check_writable(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists; use --force to overwrite it, or choose another --out")


def atomic_write(path: str | Path, data: bytes | Callable[[Path], None], force: bool = False) -> Path:
    """Write `data` (bytes, or a function that writes to the temporary path it is given) to `path`.

    The temporary file keeps the target's suffix, so writers that choose a format by suffix work.
    """
    path = Path(path)
    check_writable(path, force)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    except OSError as e:
        raise OptionError(f"{path}: cannot write there ({e.strerror or type(e).__name__})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        if callable(data):
            data(tmp_path)
        else:
            tmp_path.write_bytes(data)
        # mkstemp makes 0600 (and a writer may make its own file): give the usual permissions
        os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path
