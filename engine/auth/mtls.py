"""TLS on the tenant port, and client certificates as credentials (Temporal Cloud's mTLS model).

The engine serves one server certificate (`--tls-cert`/`--tls-key`). A client names the
namespace it calls in the TLS server name (SNI): `<namespace id>.<suffix>`, e.g.
`payments.a1b2c3.sundial.localhost` (Temporal Cloud: `<ns>.<acct>.tmprl.cloud`). Python's `ssl`
verifies a client certificate during the handshake and has no verify callback, so the CA set has
to be chosen before the client's certificate arrives: the `sni_callback` switches the connection
to that namespace's `SSLContext`, whose only trust anchors are the namespace's accepted CA bundle
(intermediates in the bundle are anchors too: `VERIFY_X509_PARTIAL_CHAIN`).

Verification is `CERT_OPTIONAL`: a client without a certificate (an API-key client) connects
whatever the server name; a certificate that does not chain to the CAs of the namespace the
server name names (another CA, another namespace's endpoint, a namespace without mTLS, no server
name) fails the handshake. Contexts are built on first use per namespace and dropped when an
access reload changes the namespace's bundle, so a rotation applies to new connections at once;
calls on a connection verified against a bundle that has since changed are UNAUTHENTICATED.

A verified certificate is then checked per call (`certificate_caller`) against the namespace's
certificate filters (any filter passing lets it in; within a filter every given field must
match, case-insensitively, with one optional leading or trailing `*`) and, passing, acts as a
principal with Admin on that namespace alone: Temporal Cloud gives a namespace's client
certificates full access to it, and nothing else.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from cryptography import x509
from cryptography.x509.oid import NameOID

from engine.auth.access import AccessControl
from engine.auth.permissions import Permission
from engine.auth.snapshot import AccessSnapshot, NamespaceAccess, PrincipalAccess

log = logging.getLogger("engine.auth")

DEFAULT_NAMESPACE_SUFFIX = "sundial.localhost"
CERTIFICATE_KIND = "certificate"  # PrincipalAccess.kind of a client certificate
_Context = TypeVar("_Context", bound=ssl.SSLContext)


def server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A TLS server context with the engine's certificate: TLS 1.3, ALPN h2, client
    certificates requested but optional and trusted by nothing (until a namespace context
    replaces it). Raises `ssl.SSLError`/`OSError` when the files do not load."""
    return _configure(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), cert_file, key_file)


def _configure(context: _Context, cert_file: str, key_file: str) -> _Context:
    # TLS 1.3 and no session tickets: no session is ever resumed. A resumed session carries the
    # client certificate verified when it began, and every context here shares one session
    # cache and ticket key, so resumption could carry a certificate verified for one namespace
    # onto another namespace's endpoint (certificate_principal refuses resumed sessions too)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.num_tickets = 0
    context.load_cert_chain(cert_file, key_file)
    context.set_alpn_protocols(["h2"])
    # a connection keeps the verify mode and flags of the context it began on when the SNI
    # callback switches it (OpenSSL copies them at SSL_new; only the trust store follows), so
    # the base context has the namespace contexts' settings
    context.verify_mode = ssl.CERT_OPTIONAL
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return context


class NamespaceContext(ssl.SSLContext):
    """The server context of one namespace's endpoint: trusts its CA bundle only."""

    namespace: str
    ca_pem: str


@dataclass(frozen=True, slots=True)
class ClientCertificate:
    """The fields certificate filters look at, lower-cased, from a verified leaf."""

    subject: str
    fingerprint: str
    common_names: tuple[str, ...]
    organizations: tuple[str, ...]
    organizational_units: tuple[str, ...]
    sans: tuple[str, ...]

    @classmethod
    def from_der(cls, der: bytes) -> ClientCertificate:
        cert = x509.load_der_x509_certificate(der)

        def values(oid: x509.ObjectIdentifier) -> tuple[str, ...]:
            return tuple(str(a.value).lower() for a in cert.subject.get_attributes_for_oid(oid))

        sans: list[str] = []
        try:
            extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except x509.ExtensionNotFound:
            pass
        else:
            for general in extension.value:
                if isinstance(general, x509.DNSName | x509.RFC822Name | x509.UniformResourceIdentifier):
                    sans.append(general.value.lower())
                elif isinstance(general, x509.IPAddress):
                    sans.append(str(general.value))
        return cls(
            subject=cert.subject.rfc4514_string(),
            fingerprint=hashlib.sha256(der).hexdigest(),
            common_names=values(NameOID.COMMON_NAME),
            organizations=values(NameOID.ORGANIZATION_NAME),
            organizational_units=values(NameOID.ORGANIZATIONAL_UNIT_NAME),
            sans=tuple(sans),
        )

    def passes(self, filters: Iterable[Mapping[str, str]]) -> bool:
        """No filter: every certificate the CAs issued. Otherwise one filter must pass."""
        filters = tuple(filters)
        return not filters or any(self._passes(f) for f in filters)

    def _passes(self, filter_: Mapping[str, str]) -> bool:
        fields = {
            "common_name": self.common_names,
            "organization": self.organizations,
            "organizational_unit": self.organizational_units,
            "subject_alternative_name": self.sans,
        }
        given = [(key, pattern) for key, pattern in filter_.items() if pattern]
        return bool(given) and all(
            any(matches(pattern, value) for value in fields.get(key, ())) for key, pattern in given
        )


def matches(pattern: str, value: str) -> bool:
    """Case-insensitive; one leading `*` matches any prefix, one trailing `*` any suffix."""
    pattern, value = pattern.lower(), value.lower()
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


class TenantTls:
    """The tenant port's TLS: the base context and the per-namespace ones its SNI callback picks."""

    def __init__(
        self, cert_file: str, key_file: str, access: AccessControl | None, suffix: str = DEFAULT_NAMESPACE_SUFFIX
    ) -> None:
        self.cert_file, self.key_file = cert_file, key_file
        self.access = access  # None (dev mode): TLS only, no client certificates
        self.suffix = "." + suffix.strip(".").lower()
        self.context = server_context(cert_file, key_file)
        self.context.sni_callback = self._server_name
        self._contexts: dict[str, NamespaceContext] = {}
        if access is not None:
            access.listeners.append(self._prune)

    def namespace_of(self, server_name: str | None) -> str | None:
        """The namespace a TLS server name names, or None."""
        if not server_name:
            return None
        name = server_name.lower().rstrip(".")
        if not name.endswith(self.suffix) or len(name) == len(self.suffix):
            return None
        return name[: -len(self.suffix)]

    def _server_name(self, ssl_object: Any, server_name: str | None, _: ssl.SSLContext) -> int | None:
        try:
            name = self.namespace_of(server_name)
            if name is None or self.access is None:
                return None
            namespace = self.access.snapshot.namespaces.get(name)
            if namespace is None or namespace.mtls_ca_pem is None:
                return None  # no CA: a client certificate fails the handshake
            ssl_object.context = self._context_for(namespace, namespace.mtls_ca_pem)
            return None
        except Exception:  # never a traceback out of OpenSSL's callback: refuse the handshake
            log.exception("choosing the TLS context for %r failed", server_name)
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR

    def _context_for(self, namespace: NamespaceAccess, ca_pem: str) -> NamespaceContext:
        cached = self._contexts.get(namespace.name)
        if cached is not None and cached.ca_pem == ca_pem:
            return cached
        context = _configure(NamespaceContext(ssl.PROTOCOL_TLS_SERVER), self.cert_file, self.key_file)
        context.load_verify_locations(cadata=ca_pem)
        context.namespace = namespace.name
        context.ca_pem = ca_pem
        self._contexts[namespace.name] = context
        return context

    def _prune(self) -> None:
        """After an access reload: forget contexts whose namespace or bundle changed."""
        assert self.access is not None
        namespaces = self.access.snapshot.namespaces
        for name, context in list(self._contexts.items()):
            current = namespaces.get(name)
            if current is None or current.mtls_ca_pem != context.ca_pem:
                del self._contexts[name]


class CertificateRefused(Exception):
    """A verified certificate that may not call: `authenticated` False → UNAUTHENTICATED,
    True → PERMISSION_DENIED."""

    def __init__(self, message: str, *, authenticated: bool) -> None:
        super().__init__(message)
        self.authenticated = authenticated


_parsed: weakref.WeakKeyDictionary[Any, ClientCertificate] = weakref.WeakKeyDictionary()


def certificate_principal(ssl_object: Any, snapshot: AccessSnapshot) -> PrincipalAccess | None:
    """The principal a connection's verified client certificate acts as; None without one.
    Raises `CertificateRefused`."""
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    context = ssl_object.context
    if der is None or not isinstance(context, NamespaceContext):
        return None
    if ssl_object.session_reused:  # never, with no tickets; if it were, the chain was not checked now
        raise CertificateRefused("a resumed TLS session's client certificate is not accepted", authenticated=False)
    namespace = snapshot.namespaces.get(context.namespace)
    if namespace is None or namespace.mtls_ca_pem != context.ca_pem:
        raise CertificateRefused(
            f"namespace {context.namespace} no longer accepts this connection's client certificate "
            "(its CA bundle changed or mTLS was turned off): reconnect",
            authenticated=False,
        )
    certificate = _parsed.get(ssl_object)
    if certificate is None:
        certificate = _parsed[ssl_object] = ClientCertificate.from_der(der)
    if not certificate.passes(namespace.mtls_filters):
        raise CertificateRefused(
            f"the client certificate {certificate.subject!r} does not pass the certificate filters "
            f"of namespace {namespace.name}",
            authenticated=True,
        )
    return PrincipalAccess(
        principal_id=f"certificate:{certificate.fingerprint}",
        account_id=namespace.account_id,
        kind=CERTIFICATE_KIND,
        name=certificate.subject,
        account_admin=False,
        grants={namespace.short_name: Permission.ADMIN},
    )
