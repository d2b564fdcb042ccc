"""Finding and loading models: by name in $CADENZA_MODELS, the models shipped inside the package,
./models and ~/.cadenza/models (or by folder), built through the families registry.

    from cadenza import hub
    composer = hub.load("chorales")        # a cadenza.compose.composer.Composer
    harmonizer = hub.load("harmonizer")    # a cadenza.compose.harmonizer.Harmonizer
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from cadenza.errors import CadenzaError, OptionError
from cadenza.nn.checkpoint import read_meta


def shipped_models() -> Path:
    """The models shipped with Cadenza, found through the installed package (a wheel or a checkout)."""
    return Path(str(resources.files("cadenza") / "models")).resolve()


def model_dirs() -> list[Path]:
    """Where models are looked up by name: $CADENZA_MODELS, the shipped models, ./models (where
    the README's `train --out models/NAME` puts one), ~/.cadenza/models; each folder once."""
    dirs = [Path(p) for p in os.environ.get("CADENZA_MODELS", "").split(os.pathsep) if p]
    home = Path(os.environ.get("CADENZA_HOME", Path.home() / ".cadenza"))
    unique: dict[Path, Path] = {}
    for d in [*dirs, shipped_models(), Path.cwd() / "models", home / "models"]:
        unique.setdefault(d.resolve(), d)
    return list(unique.values())


def find_model(name: str) -> Path:
    path = Path(name).expanduser()
    if (path / "model.json").exists():
        return path.absolute()  # as the JSON records it: found again from any folder
    for d in model_dirs():
        if (d / name / "model.json").exists():
            return d / name
    for d in [] if path.exists() else model_dirs():  # a name as a user may type it: Piano for piano
        same = [p for p in (d.iterdir() if d.is_dir() else []) if p.name.lower() == name.lower()]
        if len(same) == 1 and (same[0] / "model.json").exists():
            return same[0]
    if path.exists():
        if (path / "checkpoint.json").exists() or (path / "leadsheet.json").exists():
            raise OptionError(
                f"{name}: a training run that has not kept a model yet (a checkpoint, no model.json); "
                f"continue it with `cadenza train --resume --out {name}`"
            )
        raise OptionError(f"{name}: not a Cadenza model folder (no model.json); train one with `cadenza train`")
    known = sorted(p.name for d in model_dirs() if d.is_dir() for p in d.iterdir() if (p / "model.json").exists())
    raise OptionError(f"no model named {name!r}; available: {', '.join(known) or 'none'} (see `cadenza models`)")


def parts_of(name_or_path: str | Path) -> dict[str, Path]:
    """{part: folder} of a bundle of models (the leadsheet family) found by name or folder; {} for
    any other model."""
    directory = find_model(str(name_or_path))
    parts = read_meta(directory).get("parts")
    return {str(k): directory / str(v) for k, v in parts.items()} if isinstance(parts, dict) else {}


def list_models(skipped: list[str] | None = None) -> list[tuple[Path, dict]]:
    """(folder, model.json) of each model in the model folders. A folder whose model.json cannot
    be read or is of no Cadenza family (./models may hold another tool's) is left out, and the
    reason added to `skipped` ("FOLDER: ...") when given."""
    from cadenza.families import of_meta

    found = []
    for d in model_dirs():
        if d.is_dir():
            for p in sorted(d.iterdir()):
                if (p / "model.json").exists():
                    try:
                        meta = read_meta(p)
                        of_meta(meta, str(p / "model.json"))
                    except CadenzaError as e:
                        if skipped is not None:
                            skipped.append(str(e))
                        continue
                    found.append((p, meta))
    return found


def _open(name_or_path: str | Path, expect: str | None, device: str):
    """(folder, family, model.json, network in eval mode) of a model found by name or folder. A
    bundle (a folder of models with "parts" in its model.json, the leadsheet family) asked for
    one of its parts' families opens that part."""
    from cadenza.families import of_meta
    from cadenza.nn.checkpoint import load_into

    directory = find_model(str(name_or_path))
    meta = read_meta(directory)
    family = of_meta(meta, str(directory / "model.json"))
    if expect is not None and family.name != expect and isinstance(meta.get("parts"), dict):
        for part in meta["parts"].values():
            part_dir = directory / str(part)
            if (part_dir / "model.json").exists() and of_meta(read_meta(part_dir)).name == expect:
                return _open(part_dir, expect, device)
    if expect is not None and family.name != expect:
        raise OptionError(f"{name_or_path}: {family.about}; use it with {family.used_by}")
    if "parts" in meta:  # a bundle: its parts are opened when used
        return directory, family, meta, None
    return directory, family, meta, load_into(family.load().build_network(meta), directory, device=device)


def family_name(name_or_path: str | Path) -> str:
    """The family (cadenza.families) of a model found by name or folder, without loading it."""
    from cadenza.families import of_meta

    directory = find_model(str(name_or_path))
    return of_meta(read_meta(directory), str(directory / "model.json")).name


def load_network(name_or_path: str | Path, expect: str | None = None, device: str = "cpu"):
    """(network in eval mode, model.json) of a model found by name or folder. With `expect` (a
    family name), a model of another family is refused with a line saying what it is for."""
    _, _, meta, model = _open(name_or_path, expect, device)
    return model, meta


def load(name_or_path: str | Path, expect: str | None = None, device: str = "cpu"):
    """A model, ready to use through its family's object (a Composer, a Harmonizer, ...). A
    bundle's part is named as its bundle (titles and messages say "leadsheet", not "melody")."""
    directory, family, meta, model = _open(name_or_path, expect, device)
    used = family.load().use(directory, meta, model)
    bundle = find_model(str(name_or_path))
    if bundle != directory:
        used.name = bundle.name
    return used
