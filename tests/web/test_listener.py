"""The listening side: accept errors are reported at most once per interval."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

SERVER = """
import logging, os, resource, sys, time
from framecast import ImageServer

logging.basicConfig(stream=sys.stderr, level=logging.INFO)
srv = ImageServer(work_folder=sys.argv[1], port=0, displayed_address="ip:127.0.0.1")
srv.start()
errors = srv._loop.get_exception_handler()  # the AcceptErrorLog on the server's own loop
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 2, hard))
print(srv.port, flush=True)
deadline = time.monotonic() + 30
while errors.seen < 3 and time.monotonic() < deadline:  # asyncio retries once a second
    time.sleep(0.05)
print("seen", errors.seen, flush=True)
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
srv.stop()
"""


def test_out_of_file_descriptors_is_logged_once_per_interval(tmp_path: Path) -> None:
    """With the server out of file descriptors, repeated 'Too many open files' accept errors
    give one log line (with a count to come), not a traceback per retry."""
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path / "work")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    clients: list[socket.socket] = []
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        for _ in range(10):
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        out, err = child.communicate(timeout=60)
    finally:
        for client in clients:
            client.close()
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, err
    seen = int(out.split()[-1])
    assert seen >= 3, out
    assert err.count("cannot accept connections") == 1, err
    assert "Traceback" not in err and "Too many open files" in err
