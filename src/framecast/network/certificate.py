"""A self-signed certificate for serving HTTPS on a LAN (``framecast cert``).

The certificate names every address a phone might use to reach this machine: its LAN
IPv4 addresses, ``localhost``, ``127.0.0.1``, ``::1``, the host name and ``<host>.local``,
plus any extra names or addresses given. It is its own certificate authority (basic
constraints ``CA:TRUE``, path length 0) so that iOS and Android accept it as a trusted root
once installed; its validity (825 days by default) stays within what Apple accepts.
The key is an ECDSA P-256 key, written with mode 0600.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from framecast.errors import ConfigError, spell
from framecast.network.address import local_ipv4_addresses

__all__ = ["CERT_NAME", "KEY_NAME", "Certificate", "default_names", "make_certificate"]

CERT_NAME = "cert.pem"
KEY_NAME = "key.pem"
MAX_DAYS = 825
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


@dataclass(frozen=True)
class Certificate:
    """Where the files went and what a user needs to check them."""

    certfile: Path
    keyfile: Path
    names: tuple[str, ...]
    fingerprint: str  # SHA-256, colon-separated hex
    not_after: datetime.datetime


def default_names() -> list[str]:
    """The names and addresses this machine is reached by: LAN IPs, localhost, host name."""
    names = [*local_ipv4_addresses(), "127.0.0.1", "::1", "localhost"]
    host = socket.gethostname()
    if host and host != "localhost":
        names.append(host)
        if "." not in host:
            names.append(f"{host}.local")
    return names


def _dedupe(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = item.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(item.strip())
    return out


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
            continue
        except ValueError:
            pass
        try:
            ascii_name = name.rstrip(".").encode("idna").decode("ascii")
        except UnicodeError:
            ascii_name = ""
        if not ascii_name or not all(_DNS_LABEL.fullmatch(p) for p in ascii_name.split(".")):
            raise ConfigError(f"{name!r} is not a host name or an IP address")
        entries.append(x509.DNSName(ascii_name))
    return x509.SubjectAlternativeName(entries)


def make_certificate(
    folder: str | os.PathLike[str],
    *,
    names: Sequence[str] = (),
    days: int = MAX_DAYS,
    overwrite: bool = False,
) -> Certificate:
    """Write ``cert.pem`` and ``key.pem`` (mode 0600) into ``folder``.

    ``names`` adds host names or IP addresses to the default ones. Existing files are kept
    unless ``overwrite`` is true (:class:`ConfigError` says so).
    """
    if not 1 <= days <= MAX_DAYS:
        raise ConfigError(
            f"{spell('days')} must be from 1 to {MAX_DAYS} (phones refuse longer ones)"
        )
    out = Path(folder).expanduser()
    certfile, keyfile = out / CERT_NAME, out / KEY_NAME
    if not overwrite:
        for path in (certfile, keyfile):
            if path.exists():
                raise ConfigError(
                    f"{path} already exists; use {spell('overwrite', True)} to replace it, or "
                    "choose another folder"
                )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {str(out)!r}: {exc.strerror or exc}") from None
    all_names = _dedupe([*default_names(), *names])
    host = socket.gethostname() or "framecast"
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"framecast on {host}"[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "framecast (self-signed)"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    not_after = now + datetime.timedelta(days=days)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(_san(all_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(keyfile, key_pem, 0o600)
    _write(certfile, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return Certificate(
        certfile=certfile.resolve(),
        keyfile=keyfile.resolve(),
        names=tuple(all_names),
        fingerprint=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        not_after=not_after,
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode`` from the start (a key is never readable by others)."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.unlink(missing_ok=True)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, mode)  # in case the umask took bits away from the public cert
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
