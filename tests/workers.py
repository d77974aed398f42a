"""How the suite is spread over pytest-xdist workers (docs/testing.md): which tests run one
after another on one worker, and which start first.

``scripts/test`` runs ``pytest -n 4 --dist loadgroup``. Most tests wait (on sockets, browsers,
subprocesses) rather than compute, so four workers share two cores well. A *group* is sent
whole to one worker:

* ``serial``: the tests that measure time or memory or open many clients (benchmarks run as
  tests, RSS tests, soak-like and 200-client tests): one after another, never two at once;
* each browser module (``tests/browser/``): its Chromium starts once, on one worker;
* each module that declares a module-scoped fixture: that fixture is set up once.

Every other test is a unit of its own, given to whichever worker is free. A worker runs the
tests outside the serial group at a lower CPU priority (nice 5, :func:`prioritise`), so that the
serial tests, which measure rates and delays, get the cores first, as if the rest of the suite
were not running; the rest only waits a little more. xdist's own
``loadgroup`` passes ``xdist_group`` marks to its scheduler by rewriting node ids, which
pytest 9.2 no longer reads back, so the scheduler here works the groups out from the node id.
The workers hand out the longest work first: the serial group, the tests marked ``slow``,
then the groups, then the rest in their usual order.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Modules whose every test belongs to the serial group (patterns relative to tests/).
SERIAL_MODULES = (
    "*benchmark*.py",
    "*memory*.py",
    "robustness/test_exhaustion.py",
    "robustness/test_soak.py",
)
#: Single tests of the serial group (node ids; their parameters follow), from modules whose
#: other tests may run alongside anything.
SERIAL_TESTS = (
    "tests/web/test_timeline.py::test_memory_stays_within_the_byte_bound",
    "tests/web/test_numbers.py::test_a_hundred_questions_at_once_stay_bounded",
    "tests/web/test_numbers.py::test_analysis_never_holds_up_the_live_fan_out",
    "tests/web/test_deepzoom.py::test_tile_requests_never_hold_up_the_live_fan_out",
    "tests/web/test_ws.py::test_clients_that_never_read_release_their_sockets",
    "tests/broker/test_sharing.py::test_an_edge_viewer_gets_the_camera_rate_though_the_camera_host_serves_nobody",
    "tests/broker/test_hostile.py::test_a_flood_of_announcements_does_not_slow_the_edge_viewers",
)
SERIAL = "serial"

_SHARED_FIXTURE = re.compile(r"""@pytest\.fixture\(\s*scope\s*=\s*["'](?:module|package|class)""")


@functools.cache
def _shares_a_fixture(path: str) -> bool:
    """Whether the test module at ``path`` (relative to the repository) declares a fixture
    that its tests share."""
    try:
        return bool(_SHARED_FIXTURE.search((ROOT / path).read_text()))
    except OSError:
        return False


def group_of(nodeid: str) -> str | None:
    """The group of the test ``nodeid`` (None: a unit of its own)."""
    path = nodeid.split("::", 1)[0]
    inside = PurePosixPath(path).relative_to("tests") if path.startswith("tests/") else None
    if inside is not None and any(inside.match(p) for p in SERIAL_MODULES):
        return SERIAL
    if any(nodeid == t or nodeid.startswith(t + "[") for t in SERIAL_TESTS):
        return SERIAL
    if path.startswith("tests/browser/") or _shares_a_fixture(path):
        return path
    return None


def _start_rank(item: pytest.Item) -> int:
    group = group_of(item.nodeid)
    if group == SERIAL:
        return 0
    if item.get_closest_marker("slow") is not None:
        return 1
    return 2 if group is not None else 3


def order(items: list[pytest.Item]) -> None:
    """Sort ``items`` so that the longest work is handed out first (a stable sort: the tests
    of one module stay together and in order)."""
    items.sort(key=_start_rank)


#: How much nicer (lower in CPU priority) a worker is than the serial group while it runs
#: other tests.
OTHERS_NICE = 5
#: This process's niceness when it started (the serial group's).
_STARTED_AT = os.nice(0)


def prioritise(item: pytest.Item) -> None:
    """Before ``item`` runs on a worker: outside the serial group, lower this worker's CPU
    priority (what it starts from then on inherits it). Only ever lowered, so no privilege is
    needed; the serial group is handed out first, so its worker is still at the priority the
    run started with."""
    lowered = _STARTED_AT + OTHERS_NICE
    if group_of(item.nodeid) != SERIAL and os.nice(0) < lowered:
        os.nice(lowered - os.nice(0))


def scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scheduler by scope, with :func:`group_of` as the scope of a test."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid) or nodeid

    config.option.loadscopereorder = False  # the workers' order (:func:`order`) is kept
    return GroupScheduling(config, log)
