"""What the client says when it gets no answer: one line, naming the caller's own options.

A Python caller is told about keywords (``token=``, ``timeout=``, ``cafile=``), a shell user
about flags (``--token``, ``--timeout``, ``--cafile``): :class:`Words` holds each
vocabulary (:data:`KEYWORDS` for :class:`~framecast.remote.client.Client`, :data:`FLAGS` for
``framecast push`` and ``framecast command``), and :class:`Failures` words every failure with
one of them. :meth:`Failures.around` turns what the network and a hostile answer raise into
:class:`~framecast.errors.ClientError` (docs/client.md, "Errors").
"""

from __future__ import annotations

import json
import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import aiohttp
from yarl import URL

from framecast.errors import ClientError
from framecast.remote.bodies import ArrayTooLarge, BodyError, describe, size
from framecast.remote.inflater import EncodingError
from framecast.remote.session import MAX_REDIRECTS, Redirected

__all__ = ["FLAGS", "KEYWORDS", "Failures", "Words", "server_detail"]

#: OpenSSL's verify codes that say what is wrong with a certificate, not that it is unknown.
_EXPIRED = 10
_NAME_MISMATCH = (62, 64)  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
#: Most characters of the server's own explanation quoted in a message.
DETAIL_CHARS = 300


def server_detail(text: str) -> str:
    """The server's own explanation: the ``error`` of a JSON answer (or of its first line,
    when only the start of a long answer was read), else its first line."""
    lines = text.strip().splitlines()
    first = lines[0] if lines else ""
    for candidate in (text, first):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("error"), str):
            first = value["error"]
            break
    said = first.strip().splitlines()
    return said[0][:DETAIL_CHARS] if said else ""


@dataclass(frozen=True)
class Words:
    """How messages name the caller's options."""

    url: str  # the option that gives the server's address
    use_url: str  # how to give another address; ``{}`` is the URL
    token: str  # where the operator token is given
    timeout: str
    cafile: str
    use_cafile: str  # how to trust a certificate file
    insecure: str  # how to skip the certificate check


#: Each option as a Python caller writes it and as a shell user does, side by side.
_SPELLINGS: dict[str, tuple[str, str]] = {
    "url": ("the client url", "--url"),
    "use_url": ("Client({!r})", "--url {}"),
    "token": ("token=", "--token or FRAMECAST_TOKEN"),
    "timeout": ("timeout=", "--timeout"),
    "cafile": ("cafile=", "--cafile"),
    "use_cafile": ("Client(..., cafile='CERT.pem')", "--cafile CERT.pem"),
    "insecure": ("verify=False", "--insecure"),
}
KEYWORDS = Words(**{name: spelt[0] for name, spelt in _SPELLINGS.items()})
FLAGS = Words(**{name: spelt[1] for name, spelt in _SPELLINGS.items()})


class Failures:
    """The one-line errors of calls to the server at ``url``."""

    def __init__(self, url: URL, words: Words, timeout: float, *, token: bool) -> None:
        self.url = url
        self.words = words
        self.timeout = timeout
        self.token = token

    @contextmanager
    def around(self, where: str, what: str | None) -> Iterator[None]:
        """Raise a :class:`ClientError` for whatever stops the call ``where`` (``POST …``)
        that sends ``what`` (``"the image"``, ``"the command"``, ``None`` for a GET)."""
        try:
            yield
        except Redirected as exc:
            raise self.redirected(exc, what) from None
        except aiohttp.ClientConnectorCertificateError as exc:
            raise self.untrusted(exc.certificate_error) from None
        except aiohttp.ClientSSLError as exc:
            cause = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else exc
            raise ClientError(
                f"cannot speak TLS with {self.url} ({_reason(cause)}); is it an http:// server?",
                url=str(self.url),
            ) from None
        except TimeoutError:
            raise self.too_slow() from None
        except aiohttp.TooManyRedirects:
            raise ClientError(
                f"{where} was redirected more than {MAX_REDIRECTS} times; use the final URL",
                url=str(self.url),
            ) from None
        except aiohttp.ClientConnectionError as exc:
            raise self.unreachable(exc) from None
        except ArrayTooLarge as exc:
            raise ClientError(
                f"{where} answered {describe(exc.shape, exc.dtype)}, {size(exc.nbytes)}, "
                f"more than max_bytes={exc.limit} ({size(exc.limit)}) allows; pass a larger "
                "max_bytes= to raw() if you expect it",
                url=str(self.url),
            ) from None
        except (BodyError, EncodingError, aiohttp.ClientError) as exc:
            raise self.unreadable(where, str(exc) or type(exc).__name__) from None

    def unreachable(self, exc: Exception) -> ClientError:
        reason = _reason(exc)
        if isinstance(exc, aiohttp.ClientConnectorError):  # the system's words, not a repr
            error = exc.os_error
            if error.errno is not None and error.errno > 0:
                reason = os.strerror(error.errno)
            elif error.strerror:
                reason = error.strerror  # a name lookup: "Name or service not known"
        return ClientError(
            f"cannot reach framecast at {self.url} ({reason}); check the address and that "
            "the server is running",
            url=str(self.url),
        )

    def untrusted(self, error: Exception) -> ClientError:
        """A certificate check that failed: why, and what to do."""
        code = getattr(error, "verify_code", None)
        said = getattr(error, "verify_message", None) or _reason(error)
        host = self.url.host or ""
        if code in _NAME_MISMATCH:
            message = (
                f"the server's certificate does not name {host} ({said}); use an address it "
                f"names, or make one that does with `framecast cert --name {host}`"
            )
        elif code == _EXPIRED:
            message = (
                f"the server's certificate at {self.url} has expired; make a new one with "
                "`framecast cert --force` on the server"
            )
        else:
            message = (
                f"the server's certificate is not trusted (self-signed?): pass "
                f"{self.words.use_cafile}, the file `framecast cert` wrote ({said}; "
                f"{self.url})"
            )
        return ClientError(message, url=str(self.url))

    def too_slow(self) -> ClientError:
        return ClientError(
            f"framecast at {self.url} did not answer within {self.timeout:g} s; check the "
            f"address, or allow more time with {self.words.timeout}",
            url=str(self.url),
        )

    def redirected(self, exc: Redirected, what: str | None) -> ClientError:
        final = self.words.use_url.format(str(exc.final))
        if exc.other_origin:
            refusal = f"refusing to send {what} there" if what else "refusing to follow it"
            message = (
                f"the server at {self.url} redirected to {exc.target}, another origin; "
                f"{refusal}; use the final URL: {final}"
            )
        else:
            message = (
                f"the server at {self.url} redirected {exc.method} to {exc.target} with "
                f"{exc.status}, which would drop {what or 'the body'}; use the final URL: {final}"
            )
        return ClientError(message, status=exc.status, url=str(exc.target))

    def unreadable(self, where: str, reason: str) -> ClientError:
        return ClientError(
            f"{where} sent an answer the client refuses: {reason}; is {self.url} a "
            "framecast server?",
            url=str(self.url),
        )

    def refused(self, where: str, status: int, detail: str, url: str) -> ClientError:
        said = f": {detail}" if detail else ""
        if status == 401:
            message = (
                f"{where} refused the token (401); check the one given with {self.words.token}"
                if self.token
                else f"{where} needs the server's operator token (401); give it with "
                f"{self.words.token}"
            )
        elif status == 403:
            message = (
                f"{where} was refused (403)"
                f"{said or '; check the allowed_origins setting of the server'}"
            )
        elif status in (404, 405):
            message = (
                f"{where} was not found ({status}){said}; check the URL and the stream name "
                "(streams need a framecast server that has them)"
            )
        elif status == 409:
            message = f"{where} was refused (409){said}"
        elif status == 413:
            message = f"the server refused the image as too large (413){said}"
        elif status == 415:
            message = f"the server cannot read the image (415){said}"
        elif status == 503:
            message = f"the server is busy or stopping (503){said}; try again in a moment"
        else:
            message = f"{where} answered {status}{said}"
        return ClientError(message, status=status, url=url)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return str(exc.reason).replace("_", " ").lower()
    text = str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
