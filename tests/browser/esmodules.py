"""The viewer's DOM-free ES modules run in Node.js, without a page or a server: what a
module returns comes back through JSON. Node has no ``document``: a module that touched the
page would fail here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

JS = Path(__file__).resolve().parents[2] / "src" / "framecast" / "viewer" / "js"
NODE = shutil.which("node")

needs_node = pytest.mark.skipif(NODE is None, reason="node is missing: apt-get install nodejs")


def evaluate(module: str, body: str, arg: Any = None) -> Any:
    """Run ``body`` (the body of an async function, with the exports of ``js/<module>`` as
    ``m`` and ``arg`` as ``arg``) in Node; what it returns, through JSON."""
    assert NODE is not None
    script = (
        f"const m = await import({json.dumps((JS / module).as_uri())});\n"
        "const arg = JSON.parse(process.argv[1]);\n"
        f"const out = await (async () => {{ {body} }})();\n"
        "process.stdout.write(JSON.stringify(out === undefined ? null : out));\n"
    )
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script, json.dumps(arg)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
