"""The layering of STYLE.md holds: every module imports alone, and dependencies point one way."""

from __future__ import annotations

import ast
import importlib
import itertools
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

#: What each layer must never import (pure core and sources stay free of I/O layers).
FORBIDDEN = {
    "framecast.frames": ("framecast.hub", "framecast.web", "framecast.server", "aiohttp"),
    "framecast.raw": ("framecast.hub", "framecast.web", "framecast.server", "aiohttp"),
    "framecast.rawtiles": ("framecast.hub", "framecast.web", "framecast.server", "aiohttp"),
    "framecast.rawfiles": ("framecast.hub", "framecast.web", "framecast.server", "aiohttp"),
    "framecast.answers": ("framecast.hub", "framecast.web", "framecast.server", "aiohttp"),
    "framecast.protocol": ("framecast.hub", "framecast.web", "framecast.server", "aiohttp"),
    "framecast.imaging": (
        "framecast.hub",
        "framecast.web",
        "framecast.server",
        "aiohttp",
        "asyncio",
    ),
    "framecast.config": ("framecast.hub", "framecast.web", "framecast.server", "aiohttp"),
    "framecast.errors": ("framecast.",),
    "framecast.hub": ("framecast.web", "framecast.server", "aiohttp"),
    "framecast.history": ("framecast.hub", "framecast.web", "framecast.server", "aiohttp"),
    "framecast.sources": (
        "framecast.hub",
        "framecast.web",
        "framecast.server",
        "framecast.pipeline",
        "aiohttp",
    ),
    "framecast.web": ("framecast.server", "framecast.cli", "framecast.sources"),
    "framecast.supervisor": ("framecast.",),
    "framecast.deadline": ("framecast.",),
    "framecast.clientaddress": ("framecast.",),
    "framecast.priority": ("framecast.",),
    "framecast.pipeline": ("framecast.web", "framecast.server", "framecast.sources", "aiohttp"),
    "framecast.server": ("framecast.cli",),
    "framecast.streams": ("framecast.web", "framecast.server", "framecast.sources", "aiohttp"),
    "framecast.control": ("framecast.hub", "framecast.web", "framecast.server", "aiohttp"),
    "framecast.certificate": ("framecast.hub", "framecast.web", "framecast.server", "aiohttp"),
    "framecast.broker": ("framecast.web", "framecast.server", "framecast.sources", "aiohttp"),
    "framecast.broker_link": (
        "framecast.broker",
        "framecast.web",
        "framecast.server",
        "framecast.sources",
        "aiohttp",
    ),
    "framecast.broker_control": (
        "framecast.broker",
        "framecast.web",
        "framecast.server",
        "framecast.sources",
        "aiohttp",
    ),
    "framecast.broker_raw": (
        "framecast.broker",
        "framecast.web",
        "framecast.server",
        "framecast.sources",
        "aiohttp",
    ),
    "framecast.broker_frames": (
        "framecast.broker",
        "framecast.web",
        "framecast.server",
        "framecast.sources",
        "aiohttp",
    ),
    "framecast.broker_codec": ("framecast.hub", "framecast.web", "framecast.server", "aiohttp"),
}

#: What a leaf may import all the same: another leaf.
LEAVES_IT_USES = {"framecast.supervisor": ("framecast.deadline",)}


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
    """``framecast.web`` forbids ``framecast.web.ws`` but not ``framecast.webfolder``; a
    trailing dot (``framecast.``) forbids everything below."""
    if forbidden.endswith("."):
        return name.startswith(forbidden)
    return name == forbidden or name.startswith(forbidden + ".")


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module: str) -> None:
    """Each module imports in a fresh interpreter (no hidden import-order dependency)."""
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", MODULES)
def test_dependencies_point_one_way(module: str) -> None:
    """Pure modules and sources never import the hub, the web layer or the server."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    imported = imports_of(Path(spec.origin), module)
    for owner, forbidden in FORBIDDEN.items():
        if module == owner or module.startswith(owner + "."):
            allowed = LEAVES_IT_USES.get(owner, ())
            bad = sorted(
                i
                for i in imported
                for f in forbidden
                if _within(i, f) and not any(_within(i, a) for a in allowed)
            )
            assert not bad, f"{module} must not import {bad}"


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
