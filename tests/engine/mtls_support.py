"""TLS material for the mTLS tests: the engine's server certificate (for namespace endpoints
`<name>.<account>.sundial.localhost` and 127.0.0.1) under its own CA, files for the engine, and
SDK `TLSConfig`s for API-key and client-certificate connections."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from temporalio.client import Client
from temporalio.service import TLSConfig

from engine.server import EngineServer
from tests.support.certs import Issued, make_ca, new_key

SUFFIX = "sundial.localhost"
ACCOUNTS = ("ab12c", "zz999")


def make_server_cert(issuer: Issued, accounts: tuple[str, ...] = ACCOUNTS, suffix: str = SUFFIX) -> Issued:
    """A TLS server certificate (serverAuth) for `*.<suffix>`, each account's
    `*.<account>.<suffix>` (a wildcard covers one label) and 127.0.0.1."""
    key = new_key()
    names: list[x509.GeneralName] = [x509.DNSName(f"*.{suffix}")]
    names += [x509.DNSName(f"*.{account}.{suffix}") for account in accounts]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    now = issuer.cert.not_valid_before_utc
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"*.{SUFFIX}")]))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(issuer.cert.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)
        .sign(issuer.key, hashes.SHA256())
    )
    return Issued(cert, key)


@dataclass(frozen=True)
class ServerTls:
    ca: Issued  # what clients trust for the server
    cert_file: Path
    key_file: Path


def server_tls(directory: Path, suffix: str = SUFFIX) -> ServerTls:
    ca = make_ca("Sundial Engine Server CA")
    server = make_server_cert(ca, suffix=suffix)
    cert_file, key_file = directory / "engine.pem", directory / "engine.key"
    cert_file.write_text(server.pem)
    key_file.write_text(server.key_pem)
    return ServerTls(ca, cert_file, key_file)


def endpoint(namespace: str) -> str:
    """The TLS server name of a namespace's endpoint."""
    return f"{namespace}.{SUFFIX}"


def tls_config(
    server: ServerTls, domain: str, client: Issued | None = None, chain: tuple[Issued, ...] = ()
) -> TLSConfig:
    """Trust the engine's CA; with `client`, present it (followed by `chain`, its intermediates)."""
    if client is None:
        return TLSConfig(server_root_ca_cert=server.ca.pem.encode(), domain=domain)
    return TLSConfig(
        server_root_ca_cert=server.ca.pem.encode(),
        domain=domain,
        client_cert="".join(item.pem for item in (client, *chain)).encode(),
        client_private_key=client.key_pem.encode(),
    )


async def connect_tls(
    engine: EngineServer, namespace: str, tls: TLSConfig, api_key: str | None = None, **options: Any
) -> Client:
    return await Client.connect(f"127.0.0.1:{engine.port}", namespace=namespace, tls=tls, api_key=api_key, **options)
