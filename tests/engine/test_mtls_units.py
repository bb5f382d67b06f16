"""mTLS pieces without the SDK: certificate filters, namespace endpoints, TLS settings, and
what the TLS server does below the SDK (no session resumption, ALPN h2)."""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from cryptography.hazmat.primitives.serialization import Encoding

from engine.auth.mtls import ClientCertificate, TenantTls, matches
from engine.config import EngineConfig
from engine.errors import ConfigError
from engine.server import EngineServer
from tests.engine.auth_support import Admin, auth_config, namespace_spec
from tests.engine.mtls_support import ServerTls, endpoint, server_tls
from tests.support.certs import Issued, make_ca, make_leaf


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("worker", "worker", True),
        ("Worker", "wORKER", True),
        ("worker", "worker2", False),
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "A.EXAMPLE.COM", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.example.com.evil", False),
        ("ci-*", "ci-runner", True),
        ("ci-*", "runner-ci-1", False),
        ("ci-*", "ci-", True),
        ("a*b", "a*b", True),  # a '*' in the middle is a character (validation refuses it)
        ("a*b", "axb", False),
    ],
)
def test_a_pattern_matches_whole_values_with_one_leading_or_trailing_wildcard(
    pattern: str, value: str, expected: bool
) -> None:
    assert matches(pattern, value) is expected


@pytest.fixture(scope="module")
def ca() -> Issued:
    return make_ca("Filters CA")


def test_all_given_fields_of_one_filter_must_match(ca: Issued) -> None:
    cert = ClientCertificate.from_der(
        make_leaf(
            ca, "w1.payments.example", organization="Acme", organizational_unit="Payments", dns_names=("w1.internal",)
        ).cert.public_bytes(Encoding.DER)
    )
    assert cert.passes([])  # no filter: every certificate the CAs issued
    assert cert.passes([{"common_name": "*.payments.example"}])
    assert cert.passes([{"common_name": "w1.payments.example", "organization": "acme", "organizational_unit": "PAY*"}])
    assert cert.passes([{"subject_alternative_name": "*.internal"}])
    assert not cert.passes([{"common_name": "*.payments.example", "organization": "Globex"}])
    assert not cert.passes([{"organizational_unit": "Orders"}])
    assert not cert.passes([{"subject_alternative_name": "w1.payments.example"}])  # the CN is not a SAN
    # any one filter passing is enough
    assert cert.passes([{"organization": "Globex"}, {"organizational_unit": "payments"}])
    # a filter with no non-empty field passes nothing (validation refuses one)
    assert not cert.passes([{"common_name": ""}])


def test_a_certificate_without_san_or_organization_fails_filters_on_them(ca: Issued) -> None:
    cert = ClientCertificate.from_der(make_leaf(ca, "bare").cert.public_bytes(Encoding.DER))
    assert cert.sans == ()
    assert cert.organizations == ()
    assert not cert.passes([{"subject_alternative_name": "*"}])
    assert not cert.passes([{"organization": "*"}])
    assert cert.passes([{"common_name": "BARE"}])


def test_the_server_name_names_a_namespace_under_the_suffix(tmp_path: Path) -> None:
    files = server_tls(tmp_path)
    tls = TenantTls(str(files.cert_file), str(files.key_file), None, "Sundial.Localhost.")
    assert tls.namespace_of("payments.ab12c.sundial.localhost") == "payments.ab12c"
    assert tls.namespace_of("PAYMENTS.AB12C.SUNDIAL.LOCALHOST.") == "payments.ab12c"
    for other in (
        None,
        "",
        "sundial.localhost",
        ".sundial.localhost",
        "payments.ab12c.example.com",
        "xsundial.localhost",
    ):
        assert tls.namespace_of(other) is None


# --- configuration -----------------------------------------------------------------------------


def config(**options: Any) -> EngineConfig:
    return EngineConfig(port=0, db_url="sqlite:///engine.sqlite3", **options)


def test_tls_needs_both_files(tmp_path: Path) -> None:
    files = server_tls(tmp_path)
    with pytest.raises(ConfigError, match="--tls-cert and --tls-key go together"):
        config(tls_cert=str(files.cert_file))
    with pytest.raises(ConfigError, match="--tls-cert and --tls-key go together"):
        config(tls_key=str(files.key_file))
    assert config(tls_cert=str(files.cert_file), tls_key=str(files.key_file)).tls_enabled
    assert not config().tls_enabled


def test_tls_files_that_do_not_load_are_refused(tmp_path: Path) -> None:
    files = server_tls(tmp_path)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    other_key = tmp_path / "other.key"
    other_key.write_text(make_ca().key_pem)
    with pytest.raises(ConfigError, match=re.escape(f"TLS file {tmp_path}/missing.pem does not exist")):
        config(tls_cert=str(tmp_path / "missing.pem"), tls_key=str(files.key_file))
    with pytest.raises(ConfigError, match="do not load as a PEM certificate chain and its private key"):
        config(tls_cert=str(garbage), tls_key=str(files.key_file))
    with pytest.raises(ConfigError, match="do not load as a PEM certificate chain and its private key"):
        config(tls_cert=str(files.cert_file), tls_key=str(garbage))
    with pytest.raises(ConfigError, match="do not load"):  # a key that is not the certificate's
        config(tls_cert=str(files.cert_file), tls_key=str(other_key))


def test_tls_is_refused_on_the_grpcio_transport(tmp_path: Path) -> None:
    files = server_tls(tmp_path)
    with pytest.raises(ConfigError, match="TLS is served by the engine's own transport only"):
        config(tls_cert=str(files.cert_file), tls_key=str(files.key_file), transport="grpcio")


@pytest.mark.parametrize("suffix", ["", ".", "-bad.example", "bad-.example", "a..b", "under_score.example", "a b"])
def test_a_namespace_suffix_that_is_no_dns_name_is_refused(suffix: str) -> None:
    with pytest.raises(ConfigError, match="is not a DNS name"):
        config(tls_namespace_suffix=suffix)


# --- below the SDK -----------------------------------------------------------------------------


@pytest_asyncio.fixture
async def tls_engine(engine_db_url: str, tmp_path: Path) -> AsyncIterator[tuple[EngineServer, ServerTls]]:
    files = server_tls(tmp_path)
    server = EngineServer(auth_config(engine_db_url, tls_cert=str(files.cert_file), tls_key=str(files.key_file)))
    await server.start()
    try:
        yield server, files
    finally:
        await server.stop()


def client_context(files: ServerTls, client: Issued, tmp_path: Path) -> ssl.SSLContext:
    cert_file, key_file = tmp_path / "client.pem", tmp_path / "client.key"
    cert_file.write_text(client.pem)
    key_file.write_text(client.key_pem)
    context = ssl.create_default_context(cadata=files.ca.pem)
    context.load_cert_chain(str(cert_file), str(key_file))
    context.set_alpn_protocols(["h2"])
    return context


def _handshake(
    port: int, context: ssl.SSLContext, server_name: str, session: ssl.SSLSession | None
) -> tuple[ssl.SSLSession | None, bool, str | None, bytes]:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=server_name, session=session) as tls,
    ):
        first = tls.recv(9)  # the server's SETTINGS frame header: any ticket came before it
        return tls.session, bool(tls.session_reused), tls.selected_alpn_protocol(), first


async def test_no_tls_session_is_resumed(tls_engine: tuple[EngineServer, ServerTls], tmp_path: Path) -> None:
    """A resumed session would carry a certificate verified for one namespace's endpoint to
    another's: the engine issues no tickets, so a client has nothing to resume with."""
    engine, files = tls_engine
    ca = make_ca("Payments Root CA")
    admin = Admin(engine.admin_address)
    try:
        await admin.put_namespace(namespace_spec("payments", "ab12c", mtls={"ca_bundle_pem": ca.pem, "filters": []}))
        await admin.put_namespace(namespace_spec("orders", "ab12c", mtls={"ca_bundle_pem": ca.pem, "filters": []}))
    finally:
        admin.close()
    context = client_context(files, make_leaf(ca), tmp_path)
    session, reused, alpn, first = await asyncio.to_thread(
        _handshake, engine.port, context, endpoint("payments.ab12c"), None
    )
    assert alpn == "h2"
    assert first[3] == 0x4  # SETTINGS
    assert session is not None
    assert not session.has_ticket
    _, reused, _, _ = await asyncio.to_thread(_handshake, engine.port, context, endpoint("orders.ab12c"), session)
    assert not reused


async def test_tls_1_2_is_refused(tls_engine: tuple[EngineServer, ServerTls]) -> None:
    engine, files = tls_engine

    def handshake() -> None:
        context = ssl.create_default_context(cadata=files.ca.pem)
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with socket.create_connection(("127.0.0.1", engine.port), timeout=10) as raw:
            context.wrap_socket(raw, server_hostname="payments.ab12c.sundial.localhost").close()

    with pytest.raises(ssl.SSLError):  # an alert or the connection closed mid-handshake
        await asyncio.to_thread(handshake)
