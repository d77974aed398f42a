"""``rediss://``: two nodes share their streams through a real ``redis-server`` that speaks
only TLS, and the URL's password shows neither in ``/api/status`` nor in the log
(docs/scale-out.md)."""

from __future__ import annotations

import json
import logging
import ssl
import subprocess
from pathlib import Path

import aiohttp
import pytest

from framecast.network.certificate import Certificate, make_certificate
from tests.broker.conftest import REDIS_SERVER, Redis, node, running, status, url
from tests.conftest import gradient, next_json, until

PASSWORD = "tls-secret-pw"


def _has_tls() -> bool:
    """Whether this redis-server was built with TLS (linked with OpenSSL's libssl)."""
    try:
        linked = subprocess.run(["ldd", REDIS_SERVER], capture_output=True, timeout=10)
    except OSError:
        return False
    return b"libssl" in linked.stdout


class TlsRedis(Redis):
    """A ``redis-server`` that listens only with TLS (``--port 0 --tls-port N``), clients
    unauthenticated by certificate, a password required."""

    def __init__(self, folder: Path, certificate: Certificate) -> None:
        super().__init__(folder)
        self.certificate = certificate
        self.extra = (
            "--port",
            "0",
            "--tls-port",
            str(self.port),
            "--tls-cert-file",
            str(certificate.certfile),
            "--tls-key-file",
            str(certificate.keyfile),
            "--tls-ca-cert-file",
            str(certificate.certfile),
            "--tls-auth-clients",
            "no",
            "--requirepass",
            PASSWORD,
        )

    def url_with(self, password: str) -> str:
        """What a user writes: ``rediss://``, the password, and the CA that signed the
        server's certificate (a self-signed one here) in ``ssl_ca_certs``."""
        return (
            f"rediss://:{password}@127.0.0.1:{self.port}/0?ssl_ca_certs={self.certificate.certfile}"
        )

    def _tls(self) -> ssl.SSLContext:
        """A TLS handshake trusting the CA that signed the server's certificate."""
        return ssl.create_default_context(cafile=str(self.certificate.certfile))


@pytest.fixture
async def tls_redis(tmp_path: Path) -> TlsRedis:
    if not _has_tls():  # pragma: no cover - Debian's redis-server is built with TLS
        pytest.skip("this redis-server was built without TLS (not linked with libssl)")
    certificate = make_certificate(tmp_path / "tls", names=["127.0.0.1", "localhost"])
    return TlsRedis(tmp_path / "redis", certificate)


async def test_two_nodes_share_frames_over_rediss(
    tls_redis: TlsRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Through a Redis that speaks only TLS, a frame published on A reaches a viewer of B
    with the same seq; both say ``broker`` ``ok``; the password is in neither node's
    ``/api/status`` nor in the log, which names the broker ``rediss://127.0.0.1:PORT/0``."""
    await tls_redis.start()
    caplog.set_level(logging.INFO, logger="framecast")
    try:
        a = node(tmp_path, "a", tls_redis.url_with(PASSWORD))
        b = node(tmp_path, "b", tls_redis.url_with(PASSWORD))
        async with running(a, b), aiohttp.ClientSession() as http:
            for server in (a, b):
                await until(lambda s=server: s.status()["broker"] == "ok", 10, "broker ok")
            a.publish(gradient(), stream="cam1")
            await until(lambda: (s := b._streams.get("cam1")) and s.latest, 10, "cam1 on B")
            async with http.ws_connect(url(b) + "/s/cam1/ws") as ws:
                await until(lambda: b.status()["clients"] == 1)
                a.publish(gradient()[::-1].copy(), {"exposure": 3}, stream="cam1")
                seen = await next_json(ws, 10)
                while seen.get("metadata", {}).get("exposure") != 3:
                    seen = await next_json(ws, 10)
            assert seen["seq"] == a._streams.get("cam1").latest.seq  # type: ignore[union-attr]
            texts = [json.dumps(await status(http, url(s))) for s in (a, b)]
        for text in texts:
            assert json.loads(text)["broker"] == "ok"
            assert PASSWORD not in text
        assert PASSWORD not in caplog.text
        assert f"broker rediss://127.0.0.1:{tls_redis.port}/0 connected" in caplog.text
    finally:
        tls_redis.kill()


async def test_a_wrong_password_over_rediss_is_degraded_and_hidden(
    tls_redis: TlsRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Over TLS, a wrong password leaves the node degraded with the credentials reason, and
    the password shows neither in ``/api/status`` nor in the log."""
    await tls_redis.start()
    caplog.set_level(logging.INFO, logger="framecast")
    wrong = "tls-wrong-pw"
    try:
        a = node(tmp_path, "a", tls_redis.url_with(wrong))
        async with running(a), aiohttp.ClientSession() as http:
            await until(lambda: a.status()["broker_reason"] not in (None, "connecting"), 10)
            text = json.dumps(await status(http, url(a)))
        answer = json.loads(text)
        assert answer["broker"] == "degraded"
        assert "refused the credentials" in answer["broker_reason"]
        assert wrong not in text and wrong not in caplog.text
    finally:
        tls_redis.kill()


async def test_rediss_without_the_ca_is_degraded_with_the_reason(
    tls_redis: TlsRedis, tmp_path: Path
) -> None:
    """A ``rediss://`` URL without ``ssl_ca_certs`` cannot verify a self-signed server: the
    node is degraded and its reason says it cannot reach the broker (certificate)."""
    await tls_redis.start()
    try:
        bare = f"rediss://:{PASSWORD}@127.0.0.1:{tls_redis.port}/0"
        a = node(tmp_path, "a", bare)
        async with running(a):
            await until(lambda: a.status()["broker_reason"] not in (None, "connecting"), 10)
            said = a.status()
        reason = said["broker_reason"]
        assert said["broker"] == "degraded"
        assert "certificate" in reason.lower() and PASSWORD not in reason
    finally:
        tls_redis.kill()
