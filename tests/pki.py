"""Test certificates made with the openssl command (the `cryptography` package is not a
dependency): a CA, a server certificate for 127.0.0.1 and localhost, a client certificate from
the CA, two more from the CA with subject alternative names ("prometheus": a DNS name, an IPv6
address and a URI; "grafana": a DNS name and an e-mail address) and a self-signed "stranger"
client certificate that the CA never signed."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

OPENSSL_CONFIG = """
[req]
distinguished_name = dn
x509_extensions = ca
[dn]
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
subjectAltName = IP:127.0.0.1, DNS:localhost
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid
[client]
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[prometheus]
extendedKeyUsage = clientAuth
subjectAltName = DNS:prometheus.example, IP:2001:db8:0:0:0:0:0:7, URI:spiffe://example.org/prometheus
authorityKeyIdentifier = keyid
[grafana]
extendedKeyUsage = clientAuth
subjectAltName = DNS:grafana.example, email:grafana@example.org
authorityKeyIdentifier = keyid
"""
# The CA-signed certificates, each with the section of OPENSSL_CONFIG of its name.
SIGNED = ("server", "client", "prometheus", "grafana")


@dataclass(frozen=True)
class Pki:
    directory: Path

    def path(self, name: str) -> str:
        return str(self.directory / name)

    @property
    def ca(self) -> str:
        return self.path("ca.crt")

    @property
    def server_crt(self) -> str:
        return self.path("server.crt")

    @property
    def server_key(self) -> str:
        return self.path("server.key")

    def client(self, name: str = "client") -> tuple[str, str]:
        """(certificate, key) as requests' `cert=` takes them."""
        return self.path(f"{name}.crt"), self.path(f"{name}.key")


def make_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Every certificate, in a new temporary directory; skips the test without openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command to make test certificates (and no cryptography package)")
    directory = tmp_path_factory.mktemp("pki")
    (directory / "openssl.cnf").write_text(OPENSSL_CONFIG)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True, timeout=30)

    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    config = ["-config", "openssl.cnf"]
    run("req", "-x509", *config, *new_key, "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "1", "-subj", "/CN=test-ca")  # fmt: skip
    for name in SIGNED:
        run("req", "-new", *config, *new_key, "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={name}")  # fmt: skip
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "1", "-out", f"{name}.crt",
            "-extfile", "openssl.cnf", "-extensions", name)  # fmt: skip
    run("req", "-x509", *config, "-extensions", "client", *new_key, "-keyout",
        "stranger.key", "-out", "stranger.crt", "-days", "1", "-subj", "/CN=stranger")  # fmt: skip
    return Pki(directory)
