"""framecast.Client and `framecast push` against a real HTTPS server whose certificate was made
by `framecast cert` (framecast.network.certificate): trusted with cafile=/--cafile, refused
with a message that says how to trust it, and reached with verify=False/--insecure."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from framecast import Client, ClientError, ConfigError, ImageServer
from framecast.remote.client import InsecureWarning
from framecast.runtime.deadline import within
from tests.conftest import TLS_TOKEN, gradient

TOKEN = TLS_TOKEN


def _https(srv: ImageServer, host: str = "127.0.0.1") -> str:
    return f"https://{host}:{srv.port}"


async def test_untrusted_certificate_says_so_and_how_to_trust_it(
    tls_server: tuple[ImageServer, Path],
) -> None:
    """Without cafile= the publish fails in one line that says the certificate is not
    trusted and to pass cafile= with the file `framecast cert` wrote (not "Operation not
    permitted")."""
    srv, _ = tls_server
    with pytest.raises(ClientError) as caught:
        await Client(_https(srv), TOKEN).apublish(gradient())
    message = str(caught.value)
    assert message.startswith(
        "the server's certificate is not trusted (self-signed?): pass "
        "Client(..., cafile='CERT.pem'), the file `framecast cert` wrote ("
    )
    assert "self-signed certificate" in message and "Operation not permitted" not in message
    assert srv.status()["frames_ingested"] == 0


async def test_cafile_publishes_commands_and_reads_raw_over_https(
    tls_server: tuple[ImageServer, Path],
) -> None:
    """Client(url, cafile=cert.pem) publishes (the server counts it), sends a command and
    reads the frame's raw array back, exact."""
    srv, cert = tls_server
    client = Client(_https(srv), TOKEN, cafile=cert)
    array = np.arange(64 * 48, dtype=np.uint16).reshape(48, 64)
    seq = await client.apublish(array)
    assert seq is not None and srv.status()["frames_ingested"] == 1
    assert (await client.acommand("reset"))["ok"] is True
    got = await client.araw(seq)
    assert got.dtype == np.uint16 and np.array_equal(got, array)


async def test_verify_false_warns_and_reaches_the_server(
    tls_server: tuple[ImageServer, Path],
) -> None:
    """verify=False warns with InsecureWarning (naming the risk and cafile=) and publishes."""
    srv, _ = tls_server
    with pytest.warns(InsecureWarning, match="does not check the server's certificate.*cafile="):
        client = Client(_https(srv), TOKEN, verify=False)
    assert await client.apublish(gradient()) is not None
    assert srv.status()["frames_ingested"] == 1


async def test_a_certificate_that_does_not_name_the_address(
    tls_server: tuple[ImageServer, Path],
) -> None:
    """Trusted but reached at an address it does not name (127.0.0.2): the error says so
    and how to make one that does."""
    srv, cert = tls_server
    with pytest.raises(ClientError) as caught:
        await Client(_https(srv, "127.0.0.2"), TOKEN, cafile=cert).apublish(gradient())
    assert str(caught.value).startswith("the server's certificate does not name 127.0.0.2 (")
    assert "`framecast cert --name 127.0.0.2`" in str(caught.value)


async def test_https_to_a_plain_http_server(server: ImageServer) -> None:
    """https:// to a server that speaks plain HTTP says TLS failed and asks about http://."""
    with pytest.raises(ClientError, match=r"cannot speak TLS with https://.*is it an http://"):
        await Client(f"https://127.0.0.1:{server.port}", timeout=10).apublish(gradient())


def test_unusable_cafile_and_contradictions_are_refused_at_once(tmp_path: Path) -> None:
    """A missing or non-certificate cafile and cafile with verify=False are ConfigErrors
    naming the keywords."""
    with pytest.raises(ConfigError, match=r"cafile= '.*missing\.pem' cannot be used \(No such"):
        Client("https://127.0.0.1:9", cafile=tmp_path / "missing.pem")
    (tmp_path / "notes.pem").write_text("not a certificate")
    with pytest.raises(ConfigError, match=r"cafile= .* cannot be used"):
        Client("https://127.0.0.1:9", cafile=tmp_path / "notes.pem")
    with pytest.raises(ConfigError, match="cafile= and verify=False contradict"):
        Client("https://127.0.0.1:9", cafile=tmp_path / "notes.pem", verify=False)


# -- the command line ------------------------------------------------------------------------


async def _push(*args: str, stdin: bytes) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FRAMECAST_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "framecast",
        "push",
        "-",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**clean, "FRAMECAST_TOKEN": TOKEN},
    )
    out, err = await within(proc.communicate(stdin), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_push_over_https_with_cafile_and_insecure(
    tls_server: tuple[ImageServer, Path],
) -> None:
    """`framecast push` without --cafile exits 2 with one line naming --cafile CERT.pem;
    with --cafile it pushes; with --insecure it pushes after a warning line on stderr."""
    srv, cert = tls_server
    png = io.BytesIO()
    Image.fromarray(gradient()).save(png, "PNG")
    code, out, err = await _push("--url", _https(srv), stdin=png.getvalue())
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "certificate is not trusted (self-signed?): pass --cafile CERT.pem, the file" in err
    code, out, err = await _push("--url", _https(srv), "--cafile", str(cert), stdin=png.getvalue())
    assert code == 0 and out.startswith("stdin: seq "), err
    code, out, err = await _push("--url", _https(srv), "--insecure", stdin=png.getvalue())
    assert code == 0 and out.startswith("stdin: seq "), err
    assert err.startswith("framecast: warning: --insecure: the certificate of https://")
    assert srv.status()["frames_ingested"] == 2


async def test_push_names_its_flags_for_a_bad_cafile(tmp_path: Path) -> None:
    """A --cafile that does not exist: exit 2, one line naming --cafile, not cafile=."""
    code, _, err = await _push(
        "--url", "https://127.0.0.1:9", "--cafile", str(tmp_path / "no.pem"), stdin=b"x"
    )
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--cafile '" in err and "cafile=" not in err
