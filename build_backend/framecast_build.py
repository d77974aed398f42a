"""framecast's build backend: setuptools, with the viewer's npm files built first.

``pyproject.toml`` names it (``backend-path = ["build_backend"]``), so every way of
building the package — ``python -m build``, ``pip install .``, ``pip install -e .``,
``pipx install git+…`` — runs ``npm ci`` on ``viewer-build/package-lock.json`` and copies
OpenSeadragon into the package before the wheel is made (:mod:`viewer_assets`). The sdist
carries the lock file, not the copied files, so a wheel built from it runs the same step.
Without npm the build stops with one line saying to install it.
"""

from __future__ import annotations

import sys
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (
    build_sdist,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

import viewer_assets

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
]


def _viewer() -> None:
    try:
        viewer_assets.build()
    except viewer_assets.BuildError as exc:
        print(f"framecast build: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    _viewer()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_editable(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    _viewer()
    return _setuptools.build_editable(wheel_directory, config_settings, metadata_directory)
