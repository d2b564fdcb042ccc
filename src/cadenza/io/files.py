"""Atomic writes: a file is written beside its target under a temporary name, flushed to disk
and renamed, so a crash or `kill -9` never leaves a half file under the final name, and nothing
is overwritten without force.

A temporary file is hidden and ends in `.tmp` (`.NAME.RANDOM.tmp`), never in its target's
suffix: one left behind by a killed process is not taken for a piece, a picture or a model by
anything that lists a folder's `*.mid` or `*.safetensors`. `is_temporary` recognizes them and
`remove_temporaries` clears those of given targets.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from cadenza.errors import OptionError, OutputExistsError

_UMASK = os.umask(0)
os.umask(_UMASK)

TEMP_SUFFIX = ".tmp"
_NO_ROOM = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM}

Data = bytes | Callable[[Path], None]


_INPUTS: set[Path] = set()  # the files this process's command read (keep_input): never written over


def keep_input(path: str | Path) -> None:
    """Refuse from now on, in this process, to write over `path`, even with force: a command's
    input (`harmonize hymn.musicxml --out hymn --force` would have replaced the melody with the
    harmonization)."""
    _INPUTS.add(Path(path).resolve())


def check_writable(path: Path, force: bool) -> None:
    if _INPUTS and path.resolve() in _INPUTS:
        raise OutputExistsError(f"{path} is the file this command reads; choose another --out")
    if path.exists() and not force:
        raise OutputExistsError(f"{path} exists; use --force to overwrite it, or choose another --out")


def is_temporary(path: str | Path) -> bool:
    """Whether `path` is one of atomic_write's temporary files (finished or left by a killed write)."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def remove_temporaries(folder: Path, names: Iterable[str]) -> list[Path]:
    """Remove what killed writes of these file names left in `folder`; returns what was removed.
    Only for a folder no other process is writing those files into."""
    removed = []
    for name in names:
        for p in folder.glob(f".{name}.*{TEMP_SUFFIX}"):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _fsync_dir(folder: Path) -> None:
    """Make a rename in `folder` durable (where the system allows a folder to be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_temporary(path: Path, data: Data) -> Path:
    """`data` written in full, flushed to disk, under a temporary name beside `path`."""
    fd, tmp = -1, None
    try:  # (one try from the file's making on: a Ctrl-C between the two had left a stale temporary)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        except OSError as e:
            raise OptionError(f"{path}: cannot write there ({e.strerror or type(e).__name__})") from None
        tmp_path = Path(tmp)
        if callable(data):
            os.close(fd)
            fd = -1
            data(tmp_path)
            fd = os.open(tmp_path, os.O_RDONLY)
        else:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        # mkstemp makes 0600 (and a writer may make its own file): give the usual permissions
        os.chmod(tmp_path, 0o666 & ~_UMASK)
    except BaseException as e:
        if fd >= 0:
            os.close(fd)
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError) and e.errno in _NO_ROOM:  # a full disk, a read-only folder: one line
            raise OptionError(f"{path}: cannot write there ({e.strerror})") from None
        raise
    return tmp_path


def atomic_write_all(items: Iterable[tuple[str | Path, Data]], force: bool = False) -> list[Path]:
    """Write several files that belong together (a model's weights and its JSON): every one is
    written in full under a temporary name first, then they are renamed one after another, in
    the order given, so that a crash can only fall between two renames, not inside a file.

    `data` is bytes, or a function that writes to the temporary path it is given; such a
    function must choose its format itself, not by the path's suffix (which is `.tmp`)."""
    targets = [(Path(p), d) for p, d in items]
    for path, _ in targets:
        check_writable(path, force)
    written: list[Path] = []
    try:
        for path, data in targets:
            written.append(_write_temporary(path, data))
        for tmp, (path, _) in zip(written, targets):
            os.replace(tmp, path)
    finally:
        for tmp in written:
            tmp.unlink(missing_ok=True)  # renamed ones are gone already
    for folder in {path.parent for path, _ in targets}:
        _fsync_dir(folder)
    return [path for path, _ in targets]


def atomic_write(path: str | Path, data: Data, force: bool = False) -> Path:
    """Write `data` (bytes, or a function that writes to the temporary path it is given) to
    `path`: the whole new file or, after a crash, the old one (or none), never a part."""
    return atomic_write_all([(path, data)], force=force)[0]
