"""The suite spread over xdist workers (tests/workers.py, docs/testing.md): the groups, and the
harness of tests/conftest.py (warnings are errors, the timeout and its task dump) on workers."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

from tests import workers

ROOT = workers.ROOT


def test_timing_sensitive_tests_share_the_serial_group() -> None:
    """Benchmarks, memory and soak-like modules and the listed single tests are one group;
    the listed tests' parameters follow them; their neighbours are units of their own."""
    assert workers.group_of("tests/web/test_numbers_benchmark.py::test_x") == "serial"
    assert workers.group_of("tests/test_memory.py::test_x") == "serial"
    assert workers.group_of("tests/robustness/test_exhaustion.py::test_x[a]") == "serial"
    listed = workers.SERIAL_TESTS[0]
    assert workers.group_of(listed) == workers.group_of(listed + "[p1]") == "serial"
    assert workers.group_of(listed + "_too") is None
    assert workers.group_of("tests/web/test_ws.py::test_x") is None


def test_a_browser_module_or_a_module_sharing_a_fixture_is_one_group() -> None:
    """A browser module, and a module declaring a module-scoped fixture, run on one worker."""
    assert (
        workers.group_of("tests/browser/test_viewer.py::test_x") == "tests/browser/test_viewer.py"
    )
    assert workers.group_of("tests/test_architecture.py::test_x[m]") == "tests/test_architecture.py"
    assert workers.group_of("tests/test_cli.py::test_x") is None


def test_every_listed_serial_test_exists() -> None:
    """A renamed test does not drop out of the serial group unnoticed."""
    for nodeid in workers.SERIAL_TESTS:
        path, name = nodeid.split("::")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert callable(getattr(module, name, None)), f"{nodeid} is not a test any more"


PRIORITIES = """
import os, types
from tests import workers

start = os.nice(0)
workers.prioritise(types.SimpleNamespace(nodeid="tests/test_memory.py::test_x"))
serial = os.nice(0)
workers.prioritise(types.SimpleNamespace(nodeid="tests/web/test_ws.py::test_x"))
workers.prioritise(types.SimpleNamespace(nodeid="tests/web/test_ws.py::test_y"))
print(serial - start, os.nice(0) - start)
"""


def test_tests_outside_the_serial_group_yield_the_cpu_to_it() -> None:
    """A worker keeps its priority for the serial group and runs any other test at nice 5
    (lowered once, not once per test)."""
    done = subprocess.run(
        [sys.executable, "-c", PRIORITIES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["0", str(workers.OTHERS_NICE)]


HARNESS_CONFTEST = """
from tests.conftest import (
    _tasks_printed_before_timeout,
    pytest_collection_modifyitems,
    pytest_xdist_make_scheduler,
)
"""
HARNESS_TESTS = """
import asyncio
import warnings


async def test_waits_for_ever():
    await asyncio.Event().wait()


def test_warns():
    warnings.warn("a careless call", UserWarning)


def test_passes():
    pass
"""


def test_on_workers_a_hung_test_prints_its_tasks_and_a_warning_fails(tmp_path: Path) -> None:
    """Under ``-n 2 --dist loadgroup`` with the project's settings: a hung async test fails
    at its timeout after printing its pending asyncio task, a warning fails its test, and
    the summary says so (``-ra``)."""
    (tmp_path / "conftest.py").write_text(HARNESS_CONFTEST)
    (tmp_path / "test_harness.py").write_text(HARNESS_TESTS)
    path = os.pathsep.join([str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    config = ["-p", "no:cacheprovider", "-c", ROOT / "pyproject.toml", "--rootdir", tmp_path]
    # Just over the 5 s before a timeout at which the pending tasks are printed (conftest.py).
    spread = ["-n", "2", "--dist", "loadgroup", "--timeout", "6"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *config, *spread, tmp_path],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=100,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "test_harness.py::test_waits_for_ever: 1 pending asyncio task(s)" in out, out
    assert "in test_waits_for_ever" in out, out  # the task's stack
    assert "Timeout (>6.0s)" in out, out
    assert "FAILED test_harness.py::test_warns - UserWarning: a careless call" in out, out
    assert "2 failed, 1 passed" in out, out
