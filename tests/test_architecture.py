"""The layering of docs/architecture.md holds: every module imports alone, and dependencies point
one way."""

from __future__ import annotations

import ast
import importlib
import itertools
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import framecast

SRC = Path(framecast.__file__).parent
MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages([str(SRC)], prefix="framecast.")
    if "viewer" not in m.name and not m.name.endswith("__main__")
)

#: The packages bottom-up (docs/architecture.md): a module may import the framecast modules of
#: its own package and of the rows above its own, never of a row below.
LAYERS: list[tuple[str, ...]] = [
    ("framecast.errors", "framecast.version"),
    ("framecast.runtime",),  # deadlines, supervision, log throttling, live-first priority
    ("framecast.network",),  # addresses, proxies, certificates
    ("framecast.config",),  # the one settings table and what is derived from it
    ("framecast.imaging",),  # decode, display, encode, DZI pyramids: pure
    ("framecast.science",),  # raw arrays, raw files and tiles, analysis: pure
    ("framecast.live",),  # frames, protocol, hub, pipeline, streams, history, commands
    ("framecast.sources",),  # folder, bsread, simulator
    ("framecast.broker",),  # scale-out on Redis
    ("framecast.web",),  # the aiohttp layer
    ("framecast.remote",),  # the producer's client and ``framecast push``
    # the composition root (and its running state), the command
    ("framecast.server", "framecast.running", "framecast.cli", "framecast"),
]

#: What a package must never import although the layers would allow it (pure cores stay free of
#: I/O; sources see only the value objects of live; the client stays out of the server side).
FORBIDDEN = {
    "framecast.imaging": ("aiohttp", "asyncio"),
    "framecast.science": ("aiohttp",),
    "framecast.live.frames": ("aiohttp", "asyncio"),
    "framecast.live.protocol": ("aiohttp", "asyncio"),
    "framecast.live.history": ("aiohttp", "asyncio"),
    "framecast.live.hub": ("aiohttp",),
    "framecast.live.metadata": ("aiohttp", "asyncio"),
    "framecast.live.commands": ("aiohttp",),
    "framecast.live.pipeline": ("aiohttp",),
    "framecast.live.streams": ("aiohttp",),
    "framecast.sources": (
        "framecast.live.hub",
        "framecast.live.pipeline",
        "framecast.live.streams",
        "framecast.live.commands",
        "framecast.live.webfolder",
        "aiohttp",
    ),
    "framecast.broker": ("framecast.sources", "aiohttp"),
    "framecast.broker.codec": ("asyncio",),
    "framecast.broker.storedframe": ("asyncio",),
    "framecast.broker.wirefields": ("asyncio",),
    "framecast.web": ("framecast.sources",),
    "framecast.remote": (
        "framecast.web",
        "framecast.broker",
        "framecast.live.hub",
        "framecast.live.pipeline",
        "framecast.live.streams",
    ),
    "framecast.errors": ("framecast.",),
    "framecast.runtime": ("framecast.",),
    "framecast.network": ("framecast.config", "framecast.live", "aiohttp"),
}


def layer_of(module: str) -> int:
    """The row of :data:`LAYERS` a module belongs to (its longest matching package)."""
    best, row = "", -1
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > len(best):
                best, row = name, index
    return row


def imports_of(path: Path, module: str) -> set[str]:
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base)
                base_name = f"{prefix}.{node.module}" if node.module else prefix
            elif node.module:
                base_name = node.module
            else:
                continue
            found.add(base_name)
            # "from . import imaging" imports the module framecast.imaging
            found.update(f"{base_name}.{alias.name}" for alias in node.names)
    return found


def _within(name: str, forbidden: str) -> bool:
    """``framecast.web`` forbids ``framecast.web.ws`` but not ``framecast.live.webfolder``; a
    trailing dot (``framecast.``) forbids everything below."""
    if forbidden.endswith("."):
        return name.startswith(forbidden)
    return name == forbidden or name.startswith(forbidden + ".")


#: The pooled import check, run as a script: it loads nothing but the standard library itself.
IMPORTCHECK = Path(__file__).with_name("importcheck.py")


def imports_alone(root: str, modules: list[str], path: list[str]) -> dict[str, str | None]:
    """Each of ``modules`` and its import error (None: it imports), every module imported as a
    fresh interpreter would (tests/importcheck.py says how), with ``path`` as PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    result = subprocess.run(
        [sys.executable, "-P", str(IMPORTCHECK), root, *modules],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, str | None] = json.loads(result.stdout.splitlines()[-1])
    return answer


@pytest.fixture(scope="module")
def imported_alone() -> dict[str, str | None]:
    """Every framecast module's import error, found in one pooled run for the whole module."""
    inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return imports_alone("framecast", MODULES, [str(SRC.parent), *inherited])


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module: str, imported_alone: dict[str, str | None]) -> None:
    """Each module imports as in a fresh interpreter (no hidden import-order dependency)."""
    assert imported_alone[module] is None, imported_alone[module]


def test_the_import_check_catches_a_module_that_needs_another_first(tmp_path: Path) -> None:
    """A module that works only when another was imported before it fails the pooled check
    even when the other comes first in the list (one interpreter importing both in turn
    passes), and so does a module that fails alone; its neighbours pass."""
    package = tmp_path / "planted"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "early.py").write_text("VALUE = 1\n")
    (package / "late.py").write_text("import planted\n\nVALUE = planted.early.VALUE + 1\n")
    (package / "broken.py").write_text("raise RuntimeError('planted failure')\n")
    (package / "fine.py").write_text("import planted.early\n\nVALUE = planted.early.VALUE\n")
    together = subprocess.run(
        [sys.executable, "-c", "import planted.early, planted.late"],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
    )
    assert together.returncode == 0, together.stderr  # the dependency hides in one interpreter
    names = ["planted.early", "planted.late", "planted.broken", "planted.fine"]
    found = imports_alone("planted", names, [str(tmp_path)])
    assert found["planted.early"] is None and found["planted.fine"] is None
    assert "AttributeError" in (found["planted.late"] or "") and "early" in found["planted.late"]
    assert "planted failure" in (found["planted.broken"] or "")


def test_the_import_check_catches_a_package_that_fails_alone(tmp_path: Path) -> None:
    """When the package's own ``__init__`` needs a module it never imports, every module of
    the package is reported (importing any of them runs that ``__init__`` first)."""
    package = tmp_path / "planted"
    package.mkdir()
    (package / "__init__.py").write_text("import planted\n\nVALUE = planted.early.VALUE\n")
    (package / "early.py").write_text("VALUE = 1\n")
    found = imports_alone("planted", ["planted.early"], [str(tmp_path)])
    assert "AttributeError" in (found["planted.early"] or "")


@pytest.mark.parametrize("module", MODULES)
def test_dependencies_point_one_way(module: str) -> None:
    """Pure modules and sources never import the hub, the web layer or the server."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    imported = imports_of(Path(spec.origin), module)
    for owner, forbidden in FORBIDDEN.items():
        if module == owner or module.startswith(owner + "."):
            bad = sorted(
                i for i in imported for f in forbidden if _within(i, f) and not _within(i, owner)
            )
            assert not bad, f"{module} must not import {bad}"


def test_every_module_has_a_layer() -> None:
    """Every module belongs to one row of LAYERS: a new package gets its row on purpose."""
    assert [m for m in MODULES if layer_of(m) < 0] == []


@pytest.mark.parametrize("module", MODULES)
def test_imports_follow_the_layers(module: str) -> None:
    """A module imports framecast modules of its own package or of the layers below, never
    of a layer above (the composition root and the command sit on top)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    own = layer_of(module)
    upward = sorted(
        name
        for name in imports_of(Path(spec.origin), module)
        if name.startswith("framecast.") and layer_of(name) > own
    )
    assert not upward, f"{module} (layer {own}) imports {upward} from a layer above"


def test_no_two_modules_share_a_name() -> None:
    """A module's name says what it owns: no two modules in different packages share one."""
    leaves: dict[str, list[str]] = {}
    for module in MODULES:
        leaf = module.rsplit(".", 1)[-1]
        if leaf != "__init__" and module not in {m.rsplit(".", 1)[0] for m in MODULES}:
            leaves.setdefault(leaf, []).append(module)
    assert {k: v for k, v in leaves.items() if len(v) > 1} == {}


def test_the_top_holds_only_the_entry_points() -> None:
    """``ls src/framecast`` reads as the architecture: a handful of modules, the rest packages."""
    top = sorted(p.stem for p in SRC.glob("*.py"))
    assert top == ["__init__", "__main__", "cli", "errors", "running", "server", "version"]


def _graph() -> dict[str, set[str]]:
    """Module → the framecast modules it imports (anywhere in the file, local imports too)."""
    graph: dict[str, set[str]] = {}
    for module in MODULES:
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None
        targets = set()
        for name in imports_of(Path(spec.origin), module):
            # "from . import imaging" names a module; "from .frames import Frame" its module
            while name not in MODULES and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in MODULES and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def test_no_import_cycles() -> None:
    """No module reaches itself through its imports (a cycle is a layering bug, not a puzzle
    to hide behind a function-local import). A package's ``__init__`` re-exporting its own
    submodules is not a cycle."""
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if target.startswith(node + "."):
                continue  # a package importing its own submodule
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], target]
                if not any(b.startswith(a + ".") for a, b in itertools.pairwise(cycle)):
                    cycles.append(cycle)
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles, " ; ".join(" -> ".join(c) for c in cycles)


#: Import names of the optional extras' packages (pyproject.toml's optional-dependencies).
EXTRA_MODULES = {
    "orjson": "speed",
    "uvloop": "speed",
    "isal": "speed",
    "astropy": "fits",
    "bsread": "bsread",
    "redis": "broker",
}


def test_type_checking_does_not_depend_on_the_extras() -> None:
    """mypy --strict gives the same answer with and without the optional extras: a module of
    an extra is imported by name (importlib) or listed in mypy's ignore_missing_imports, never
    with a plain import that type-checks only when the extra is installed."""
    import tomllib

    pyproject = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())
    ignored = {
        name
        for override in pyproject["tool"]["mypy"].get("overrides", [])
        if override.get("ignore_missing_imports")
        for name in override["module"]
    }
    offenders = []
    for module in MODULES:
        spec = importlib.util.find_spec(module)
        assert spec is not None and spec.origin is not None
        for name in imports_of(Path(spec.origin), module):
            top = name.split(".")[0]
            if top in EXTRA_MODULES and top not in ignored and f"{top}.*" not in ignored:
                offenders.append(f"{module} imports {top}")
    assert not offenders, offenders


#: The most lines a module may have (docs/architecture.md): past them it owns more than one
#: concept. No exceptions: a module that outgrows its limit is split by concept.
MAX_PYTHON_LINES = 450
MAX_VIEWER_LINES = 400


def oversized(files: list[Path], limit: int, root: Path = SRC.parent) -> list[str]:
    """``path: N lines`` (``path`` under ``root``) for each of ``files`` over ``limit`` lines."""
    found = []
    for path in files:
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found.append(f"{path.relative_to(root)}: {lines} lines")
    return found


def test_no_module_outgrows_its_size() -> None:
    """No Python module of the package is over 450 lines and no module of the viewer's own
    JavaScript over 400 (the vendored OpenSeadragon is not ours); each names its lines."""
    python = sorted(SRC.rglob("*.py"))
    viewer = sorted((SRC / "viewer" / "js").rglob("*.js"))
    assert len(python) > 50 and len(viewer) > 20  # the globs see the real trees
    too_long = oversized(python, MAX_PYTHON_LINES) + oversized(viewer, MAX_VIEWER_LINES)
    assert too_long == [], "split these by concept: " + "; ".join(too_long)


def test_the_size_check_names_a_module_one_line_too_long(tmp_path: Path) -> None:
    """A module of 451 lines is reported with its count; one of exactly 450 is not."""
    package = tmp_path / "framecast"
    package.mkdir()
    (package / "fits.py").write_text("x = 1\n" * MAX_PYTHON_LINES)
    (package / "grown.py").write_text("x = 1\n" * (MAX_PYTHON_LINES + 1))
    found = oversized(sorted(package.glob("*.py")), MAX_PYTHON_LINES, tmp_path)
    assert found == ["framecast/grown.py: 451 lines"]
