"""The shape of the package: no import cycles, light imports where the user waits, and the
shipped models found through the installed package."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "cadenza"


def import_graph() -> dict[str, set[str]]:
    """module -> the cadenza modules it imports anywhere in its file (top level, inside
    functions, or for type checking): the whole static dependency graph."""
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_package_has_no_import_cycles():
    graph = import_graph()
    assert len(graph) > 40 and graph["cadenza.compose.harmonizer"]  # the graph was really read
    assert cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def loaded_after(code: str) -> set[str]:
    """Which heavy libraries a fresh interpreter has loaded after running `code`."""
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            code + "\nimport sys\n"
            "print(' '.join(m for m in ('torch', 'music21', 'matplotlib') if m in sys.modules), "
            "file=sys.stderr)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stderr.split())


def test_help_imports_no_torch_music21_or_matplotlib():
    code = (
        "import sys\nsys.argv = ['cadenza', '--help']\nfrom cadenza.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    assert loaded_after(code) == set()


def test_training_help_reads_the_family_configs_without_torch():
    code = (
        "import sys\nsys.argv = ['cadenza', 'train', '--help']\nfrom cadenza.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    assert loaded_after(code) == set()


def test_evaluation_loads_no_torch():
    assert "torch" not in loaded_after(
        "import cadenza.evaluate, cadenza.evaluate.report, cadenza.evaluate.measures, "
        "cadenza.evaluate.voice_leading, cadenza.evaluate.novelty"
    )


def test_shipped_models_are_found_through_the_package():
    from cadenza import hub

    shipped = hub.shipped_models()
    assert (shipped / "chorales" / "model.json").exists()
    assert hub.find_model("harmonizer") == shipped / "harmonizer"


def test_the_package_is_typed():
    assert (SRC / "py.typed").exists()


def test_every_error_class_is_a_cadenza_error():
    """Each exception class the package defines derives from CadenzaError, so the command line
    turns it into one line and exit status 2, never a traceback."""
    import importlib
    import inspect

    from cadenza.errors import CadenzaError

    found = []
    for name in import_graph():
        if name.startswith("cadenza.cli"):
            continue
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__.startswith("cadenza"):
                found.append(cls)
                assert issubclass(cls, CadenzaError), cls
    assert len(set(found)) >= 6  # InputError, OptionError, OutputExistsError, MusicError, TokenizeError...
