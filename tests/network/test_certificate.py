"""framecast.network.certificate and `framecast cert`: names, key permissions, overwrite rules."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

import pytest
from cryptography import x509

from framecast import cli
from framecast.errors import ConfigError
from framecast.network.certificate import default_names, make_certificate


def test_certificate_names_and_key_mode(tmp_path: Path) -> None:
    """cert.pem names localhost, 127.0.0.1, the LAN addresses and extra names; it is a
    CA (so phones can trust it) for server auth; key.pem is readable by its owner only."""
    made = make_certificate(tmp_path, names=["camera.lan", "10.1.2.3"])
    cert = x509.load_pem_x509_certificate(made.certfile.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = san.get_values_for_type(x509.DNSName)
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    assert {"localhost", "camera.lan"} <= set(dns)
    assert {"127.0.0.1", "::1", "10.1.2.3"} <= ips
    for name in default_names():
        try:
            assert str(ipaddress.ip_address(name)) in ips
        except ValueError:
            assert name in dns
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert stat.S_IMODE(made.keyfile.stat().st_mode) == 0o600
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 825
    assert len(made.fingerprint.split(":")) == 32


def test_existing_files_are_kept_unless_forced(tmp_path: Path) -> None:
    """A second run refuses to replace the files, naming overwrite=True (the keyword, from
    Python), which makes a new certificate."""
    first = make_certificate(tmp_path)
    with pytest.raises(ConfigError, match="already exists; use overwrite=True to replace it"):
        make_certificate(tmp_path)
    second = make_certificate(tmp_path, overwrite=True)
    assert second.fingerprint != first.fingerprint
    with pytest.raises(ConfigError, match=r"^days= must be from 1 to"):
        make_certificate(tmp_path / "other", days=5000)
    with pytest.raises(ConfigError, match="not a host name"):
        make_certificate(tmp_path / "bad", names=["bad name\x00"])


def test_cli_cert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`framecast cert --out DIR` writes both files and prints how to serve; a second run
    exits 2 with one line on stderr."""
    out = tmp_path / "tls"
    assert cli.main(["cert", "--out", str(out), "--name", "scope.local"]) == 0
    printed = capsys.readouterr().out
    assert (out / "cert.pem").is_file() and (out / "key.pem").is_file()
    assert "framecast serve --certfile" in printed and "scope.local" in printed
    assert cli.main(["cert", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "use --overwrite to replace it" in err
