"""The studio's pieces on disk, each with its history of versions.

    ROOT/pieces/ID/piece.json      {"id", "title", "created", "versions": [...]}
    ROOT/pieces/ID/vN/             the files of version N (piece.mid, piece.musicxml, piece.wav ...)

A version's folder is complete before the piece's JSON names it (written in a scratch folder,
renamed into place, then the JSON rewritten atomically), so a server killed at any moment
leaves every finished piece as it was. Clients name pieces, versions and files by id, number
and name only; `file_path` checks each against what the store holds, so no path a client sends
ever reaches the file system.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
import time
from pathlib import Path

from cadenza.errors import CadenzaError
from cadenza.io.files import atomic_write

ID = re.compile(r"^[0-9a-f]{12}$")
FILE = re.compile(r"^piece(\.[a-z]+)+$")


class NotFound(CadenzaError, LookupError):
    """No such piece, version or file."""


class Store:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.pieces_dir = self.root / "pieces"
        self.scratch = self.root / "scratch"
        self.pieces_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.scratch, ignore_errors=True)  # unfinished work of a server that was killed
        for d in self.pieces_dir.iterdir():  # a piece a killed server moved in but never named
            if not (d / "piece.json").exists():
                shutil.rmtree(d, ignore_errors=True)
        self.scratch.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def scratch_dir(self) -> Path:
        path = self.scratch / secrets.token_hex(8)
        path.mkdir()
        return path

    def pieces(self) -> list[dict]:
        out = []
        for d in sorted(self.pieces_dir.iterdir()):
            if ID.match(d.name) and (d / "piece.json").exists():
                out.append(self.piece(d.name))
        return sorted(out, key=lambda p: p["created"], reverse=True)

    def piece(self, piece_id: str) -> dict:
        if not ID.match(piece_id or ""):
            raise NotFound(f"no piece {piece_id!r}")
        path = self.pieces_dir / piece_id / "piece.json"
        if not path.exists():
            raise NotFound(f"no piece {piece_id!r}")
        return json.loads(path.read_text())

    def version(self, piece_id: str, n: int | None = None) -> dict:
        versions = self.piece(piece_id)["versions"]
        if n is None:
            return versions[-1]
        for v in versions:
            if v["n"] == n:
                return v
        has = "version 1" if len(versions) == 1 else f"versions 1-{len(versions)}"
        raise NotFound(f"piece {piece_id} has no version {n} (it has {has})")

    def file_path(self, piece_id: str, n: int, name: str) -> Path:
        """The file `name` of version n, if the store holds it."""
        v = self.version(piece_id, n)
        if name not in v["files"]:
            raise NotFound(f"version {n} of piece {piece_id} has no file {name!r} (it has {', '.join(v['files'])})")
        return self.pieces_dir / piece_id / f"v{n}" / name

    def add(self, files: Path, title: str, command: str, options: dict, parent: dict | None) -> dict:
        """A new piece whose version 1 is the folder `files` (moved in)."""
        with self._lock:
            piece_id = secrets.token_hex(6)
            folder = self.pieces_dir / piece_id
            folder.mkdir()
            shutil.move(str(files), folder / "v1")
            first = _version(1, folder / "v1", command, options, parent)
            piece = {"id": piece_id, "title": title, "created": time.time(), "versions": [first]}
            self._save(piece)
            return piece

    def add_version(self, piece_id: str, files: Path, command: str, options: dict, parent: dict | None) -> dict:
        """A new version of a piece, the folder `files` moved in; the piece as it is now."""
        with self._lock:
            piece = self.piece(piece_id)
            n = max(v["n"] for v in piece["versions"]) + 1
            target = self.pieces_dir / piece_id / f"v{n}"
            shutil.rmtree(target, ignore_errors=True)  # a folder a killed server moved in but never named
            shutil.move(str(files), target)
            piece["versions"].append(_version(n, target, command, options, parent))
            self._save(piece)
            return piece

    def add_files(self, piece_id: str, n: int, files: dict[str, Path]) -> dict:
        """Files that describe version n without changing its music (an analysis), moved in."""
        with self._lock:
            piece = self.piece(piece_id)
            v = next(v for v in piece["versions"] if v["n"] == n)
            for name, src in files.items():
                shutil.move(str(src), self.pieces_dir / piece_id / f"v{n}" / name)
                if name not in v["files"]:
                    v["files"].append(name)
            self._save(piece)
            return piece

    def _save(self, piece: dict) -> None:
        atomic_write(self.pieces_dir / piece["id"] / "piece.json", json.dumps(piece, indent=1).encode(), force=True)


def _version(n: int, folder: Path, command: str, options: dict, parent: dict | None) -> dict:
    files = sorted(p.name for p in folder.iterdir() if FILE.match(p.name))
    return {"n": n, "command": command, "options": options, "parent": parent, "files": files, "created": time.time()}
