"""The layering of STYLE.md holds: every module imports alone, and dependencies point one way."""

from __future__ import annotations

import ast
import importlib
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
    "framecast.sources": (
        "framecast.hub",
        "framecast.web",
        "framecast.server",
        "framecast.pipeline",
        "aiohttp",
    ),
    "framecast.web": ("framecast.server", "framecast.cli"),
    "framecast.control": ("framecast.hub", "framecast.web", "framecast.server", "aiohttp"),
    "framecast.certificate": ("framecast.hub", "framecast.web", "framecast.server", "aiohttp"),
}


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
                found.add(f"{prefix}.{node.module}" if node.module else prefix)
            elif node.module:
                found.add(node.module)
    return found


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
            bad = sorted(
                i for i in imported for f in forbidden if i == f.rstrip(".") or i.startswith(f)
            )
            assert not bad, f"{module} must not import {bad}"
