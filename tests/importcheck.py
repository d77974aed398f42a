"""Import each named module as a fresh interpreter would, in one process (docs/testing.md).

``python -P tests/importcheck.py ROOT MODULE...`` prints one JSON object: each module's name and
``null`` when it imports, else the error with its traceback. Only the standard library is used
here, so the process starts with nothing of ROOT or its dependencies loaded.

How it stays equivalent to ``python -c "import MODULE"`` for each module, at a fraction of the
cost (83 interpreters each loading numpy and aiohttp took about 45 s):

* ``import ROOT`` itself runs first in a forked child of this still-empty process: exactly a
  fresh interpreter.
* That child reports which other modules (numpy, aiohttp, the standard library's) ROOT loaded;
  this process then imports them, and only them, by name.
* Each MODULE is then imported in its own forked child of that process, so no module of ROOT is
  loaded when it starts and nothing one child loads is seen by the next: a module that works
  only when another was imported first fails here as it would alone.

Importing ``ROOT.a.b`` always runs ROOT's ``__init__`` first, which loads the same outside
modules in a fresh interpreter before any line of ``ROOT.a.b`` runs, unless ``ROOT.a.b`` is part
of that very ``__init__`` chain, and then ``import ROOT.a.b`` is ``import ROOT``, checked fresh.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import sys
import time
import traceback

#: Seconds one import may take before it is reported as hanging.
IMPORT_TIMEOUT = 60.0


def _in_child(work: str, send: int) -> int:
    """Run in a forked child: import ``work`` (``"?ROOT"``: and report what else it loaded);
    write the outcome to ``send``; the process's exit status."""
    listing = work.startswith("?")
    name = work.lstrip("?")
    before = set(sys.modules)
    try:
        importlib.import_module(name)
    except BaseException:
        answer: object = {"error": traceback.format_exc()}
    else:
        if listing:
            answer = {"loaded": [m for m in sys.modules if m not in before]}
        else:
            answer = {"error": None}
    data = json.dumps(answer).encode()
    while data:
        data = data[os.write(send, data) :]
    return 0


def _forked(work: str) -> tuple[int, int]:
    """Start a child for ``work``: its pid and the pipe its answer comes on."""
    receive, send = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into the parent's code
        os.close(receive)
        status = 1
        try:
            status = _in_child(work, send)
        finally:
            os._exit(status)
    os.close(send)
    return pid, receive


def _answer(pid: int, receive: int, work: str) -> dict[str, object]:
    """Read the child's answer (within :data:`IMPORT_TIMEOUT`) and reap it."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + IMPORT_TIMEOUT
    try:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([receive], [], [], max(left, 0))
            if not ready:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                return {"error": f"import {work} did not finish within {IMPORT_TIMEOUT:.0f} s"}
            chunk = os.read(receive, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(receive)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        return {"error": f"import {work} ended the process (wait status {status}) without a word"}
    answer: dict[str, object] = json.loads(b"".join(chunks))
    return answer


def check(root: str, modules: list[str], parallel: int = 2) -> dict[str, str | None]:
    """Each module of ``modules`` and the error its import raised (None: it imported)."""
    probe = _answer(*_forked("?" + root), root)
    if probe.get("error"):
        return {m: f"import {root} failed:\n{probe['error']}" for m in modules}
    loaded = probe.get("loaded")
    assert isinstance(loaded, list)
    # A module that ``import ROOT`` loads imports as ``import ROOT`` did: it just passed.
    results: dict[str, str | None] = {m: None for m in modules if m in loaded}
    for name in loaded:
        if name not in sys.modules and name != root and not name.startswith(root + "."):
            # one importable only from within its package is loaded there by the children
            with contextlib.suppress(Exception):
                importlib.import_module(name)
    waiting = [m for m in modules if m not in results]
    running: list[tuple[str, int, int]] = []
    while waiting or running:
        while waiting and len(running) < parallel:
            module = waiting.pop(0)
            running.append((module, *_forked(module)))
        module, pid, receive = running.pop(0)
        error = _answer(pid, receive, module)["error"]
        results[module] = str(error) if error is not None else None
    return {m: results[m] for m in modules}


if __name__ == "__main__":
    root, *names = sys.argv[1:]
    print(json.dumps(check(root, names)))
