"""The rules a namespace's settings must follow, as pure functions.

Each ``clean_*`` takes what a caller sent and returns the cleaned value or raises
``InvalidInput`` with a message that names the field (and, for certificates, the certificate)
that is wrong. Limits are Temporal Cloud's (``../shared/reference/temporal-cloud.md`` §0, §6.2;
docs.temporal.io/cloud/namespaces, /cloud/certificates, /cloud/limits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from accounts.errors import InvalidInput
from engine.visibility.attributes import RESERVED_NAMES

# --- name and retention -------------------------------------------------------------------

NAME_RULE = (
    "2–39 characters: lowercase letters, digits and '-', starting with a letter and ending with a letter or digit,"
    " no '--'"
)
# Temporal Cloud's rule (docs.temporal.io/cloud/namespaces): also no trailing or doubled hyphen.
_NAME = re.compile(r"(?=.{2,39}$)[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
MIN_RETENTION_DAYS = 1
MAX_RETENTION_DAYS = 90


def clean_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(f"namespace name {name!r} is not valid: {NAME_RULE}")
    return name


def clean_retention_days(days: Any) -> int:
    if isinstance(days, bool) or not isinstance(days, int):
        raise InvalidInput(f"retention must be a whole number of days, not {days!r}")
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise InvalidInput(f"retention must be {MIN_RETENTION_DAYS}–{MAX_RETENTION_DAYS} days, not {days}")
    return days


# --- the accepted client CA bundle (mTLS) ---------------------------------------------------

MAX_CA_CERTIFICATES = 16
MAX_CA_BUNDLE_BYTES = 32 * 1024
MIN_RSA_BITS = 2048
_STRONG_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


@dataclass(frozen=True)
class CaCertificate:
    """What pages show of an accepted CA: who it is and until when it is valid."""

    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str


def _subject(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "(empty subject)"


def _check_ca(cert: x509.Certificate, number: int, now: datetime) -> None:
    who = f"certificate {number} ({_subject(cert)})"
    if cert.version is not x509.Version.v3:
        raise InvalidInput(f"{who} is not an X.509 v3 certificate")
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise InvalidInput(
            f"{who} is not a CA certificate (basicConstraints CA:true is missing); upload CA certificates only"
        )
    if cert.not_valid_after_utc <= now:
        raise InvalidInput(f"{who} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise InvalidInput(f"{who} has a {key.key_size}-bit RSA key; at least {MIN_RSA_BITS} bits are required")
    elif not isinstance(key, ec.EllipticCurvePublicKey):
        kind = type(key).__name__.removeprefix("_").removesuffix("PublicKey")
        raise InvalidInput(f"{who} has a key of type {kind}; only RSA and ECDSA keys are accepted")
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        algorithm = None
    if not isinstance(algorithm, _STRONG_HASHES):
        used = algorithm.name.upper() if algorithm is not None else "an unsupported algorithm"
        raise InvalidInput(f"{who} is signed with {used}; SHA-256 or stronger is required")


def parse_ca_bundle(pem: str, *, now: datetime) -> list[CaCertificate]:
    """The certificates of a PEM bundle, each checked to be a usable CA; ``[]`` for an empty one.

    The bundle may hold at most 16 certificates and 32 KB; each must be an X.509 v3 CA
    (basicConstraints CA:true), not expired, with an RSA (≥ 2048 bits) or ECDSA key, signed with
    SHA-256 or stronger. Anything but certificates (a private key, say) is refused.
    """
    if not pem.strip():
        return []
    size = len(pem.encode())
    if size > MAX_CA_BUNDLE_BYTES:
        raise InvalidInput(f"the CA bundle is {size} bytes; at most {MAX_CA_BUNDLE_BYTES} bytes (32 KB) are accepted")
    blocks = list(_PEM_BLOCK.finditer(pem))
    leftover = _PEM_BLOCK.sub("", pem).strip()
    if not blocks or leftover:
        raise InvalidInput("the CA bundle is not PEM: paste certificates from -----BEGIN CERTIFICATE----- to -----END")
    for block in blocks:
        if block.group(1) != "CERTIFICATE":
            raise InvalidInput(f"the CA bundle may hold only certificates, not a {block.group(1)} block")
    if len(blocks) > MAX_CA_CERTIFICATES:
        raise InvalidInput(
            f"the CA bundle holds {len(blocks)} certificates; at most {MAX_CA_CERTIFICATES} are accepted"
        )
    certificates: list[CaCertificate] = []
    seen: dict[str, int] = {}
    for number, block in enumerate(blocks, start=1):
        try:
            cert = x509.load_pem_x509_certificate(block.group(0).encode())
        except ValueError:
            raise InvalidInput(
                f"certificate {number} of the CA bundle cannot be read (it is not valid PEM/DER)"
            ) from None
        _check_ca(cert, number, now)
        fingerprint = cert.fingerprint(hashes.SHA256()).hex()
        if fingerprint in seen:
            raise InvalidInput(
                f"certificate {number} ({_subject(cert)}) repeats certificate {seen[fingerprint]} of the bundle"
            )
        seen[fingerprint] = number
        certificates.append(
            CaCertificate(
                subject=_subject(cert),
                issuer=cert.issuer.rfc4514_string(),
                not_before=cert.not_valid_before_utc,
                not_after=cert.not_valid_after_utc,
                fingerprint_sha256=fingerprint,
            )
        )
    return certificates


def clean_ca_bundle(pem: str, *, now: datetime) -> str:
    """The bundle as stored: checked, with surrounding blank space removed (``""`` = mTLS off)."""
    if not isinstance(pem, str):
        raise InvalidInput("the CA bundle must be PEM text")
    parse_ca_bundle(pem, now=now)
    return pem.strip() + "\n" if pem.strip() else ""


# --- certificate filters --------------------------------------------------------------------

MAX_CERT_FILTERS = 25
MAX_FILTER_VALUE = 255
FILTER_FIELDS = ("common_name", "organization", "organizational_unit", "subject_alternative_name")


def _clean_filter_value(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{where} must be text")
    value = value.strip()
    if len(value) > MAX_FILTER_VALUE:
        raise InvalidInput(f"{where} is longer than {MAX_FILTER_VALUE} characters")
    if value == "*":
        raise InvalidInput(f"{where} may not be '*' alone; leave it empty to accept any value")
    if value.count("*") > 1 or ("*" in value and not (value.startswith("*") or value.endswith("*"))):
        raise InvalidInput(f"{where} ({value!r}) may hold one '*', at its start or its end only")
    return value


def clean_cert_filters(filters: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Temporal Cloud's certificate filters: at most 25; each sets at least one of common name,
    organization, organizational unit and subject alternative name; one leading or trailing ``*``."""
    if isinstance(filters, str | bytes) or not isinstance(filters, Iterable):
        raise InvalidInput("certificate filters must be a list")
    cleaned: list[dict[str, str]] = []
    for number, raw in enumerate(filters, start=1):
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"certificate filter {number} must be an object of {', '.join(FILTER_FIELDS)}")
        unknown = sorted(set(raw) - set(FILTER_FIELDS))
        if unknown:
            raise InvalidInput(
                f"certificate filter {number} has unknown field {unknown[0]!r} (fields: {', '.join(FILTER_FIELDS)})"
            )
        item = {
            name: _clean_filter_value(raw.get(name, ""), f"certificate filter {number}: {name}")
            for name in FILTER_FIELDS
        }
        if not any(item.values()):
            raise InvalidInput(
                f"certificate filter {number} sets no field; set at least one of {', '.join(FILTER_FIELDS)}"
            )
        cleaned.append(item)
    if len(cleaned) > MAX_CERT_FILTERS:
        raise InvalidInput(f"{len(cleaned)} certificate filters given; at most {MAX_CERT_FILTERS} are accepted")
    return cleaned


# --- custom search attributes ---------------------------------------------------------------

# Temporal Cloud's per-namespace limits, by type (docs.temporal.io/cloud/limits).
SEARCH_ATTRIBUTE_LIMITS = {
    "Bool": 20,
    "Datetime": 20,
    "Double": 20,
    "Int": 20,
    "Keyword": 40,
    "KeywordList": 5,
    "Text": 5,
}
_TYPE_BY_LOWER = {label.lower(): label for label in SEARCH_ATTRIBUTE_LIMITS}
MAX_SEARCH_ATTRIBUTE_NAME = 64
_SEARCH_ATTRIBUTE_NAME = re.compile(r"[a-zA-Z0-9.,:_\-/ ]+")
# The engine refuses the same names (its system and predefined attributes, and Temporal's prefix).
RESERVED_PREFIX = "Temporal"


def _search_attribute_type(name: str, value: Any) -> str:
    label = _TYPE_BY_LOWER.get(value.lower()) if isinstance(value, str) else None
    if label is None:
        raise InvalidInput(
            f"search attribute {name!r} has unknown type {value!r} (one of {', '.join(SEARCH_ATTRIBUTE_LIMITS)})"
        )
    return label


def _check_search_attribute_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidInput("a search attribute needs a name")
    if len(name) > MAX_SEARCH_ATTRIBUTE_NAME:
        raise InvalidInput(
            f"search attribute name {name[:20]!r}… is longer than {MAX_SEARCH_ATTRIBUTE_NAME} characters"
        )
    if not _SEARCH_ATTRIBUTE_NAME.fullmatch(name):
        raise InvalidInput(f"search attribute name {name!r} may hold only letters, digits, spaces and . , : _ - /")
    if name in RESERVED_NAMES or name.startswith(RESERVED_PREFIX):
        raise InvalidInput(f"search attribute name {name!r} is reserved by Temporal; choose another name")
    return name


def clean_search_attributes(
    wanted: Mapping[str, Any] | Iterable[tuple[str, Any]], *, existing: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The namespace's custom search attributes after a change: ``{name: type}``.

    ``wanted`` lists every attribute the namespace should have (a mapping, or pairs as a form
    sends them, so that a name given twice is caught). Existing attributes cannot change type or
    be removed (Temporal Cloud renames them instead); each type has its own limit.
    """
    pairs = list(wanted.items()) if isinstance(wanted, Mapping) else list(wanted)
    existing = dict(existing or {})
    cleaned: dict[str, str] = {}
    for pair in pairs:
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise InvalidInput("search attributes must be given as name → type")
        name = _check_search_attribute_name(pair[0])
        label = _search_attribute_type(name, pair[1])
        if name in cleaned:
            raise InvalidInput(f"search attribute {name!r} is listed twice")
        before = existing.get(name)
        if before is not None and before != label:
            raise InvalidInput(f"search attribute {name!r} is a {before}; its type cannot change to {label}")
        cleaned[name] = label
    removed = sorted(set(existing) - set(cleaned))
    if removed:
        raise InvalidInput(
            f"search attribute {removed[0]!r} cannot be removed (custom search attributes are renamed, not deleted)"
        )
    for label, limit in SEARCH_ATTRIBUTE_LIMITS.items():
        count = sum(1 for value in cleaned.values() if value == label)
        if count > limit:
            raise InvalidInput(f"{count} {label} search attributes given; a namespace may have at most {limit}")
    return cleaned


# --- tags and the codec server ------------------------------------------------------------------

MAX_TAGS = 10
_TAG = re.compile(r"[a-z0-9._\-@]{1,63}")
TAG_RULE = "1–63 characters: lowercase letters, digits and . _ - @"


def clean_tags(tags: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(tags, Mapping):
        raise InvalidInput("tags must be key → value")
    if len(tags) > MAX_TAGS:
        raise InvalidInput(f"{len(tags)} tags given; a namespace may have at most {MAX_TAGS}")
    cleaned: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(key, str) or not _TAG.fullmatch(key):
            raise InvalidInput(f"tag key {key!r} is not valid: {TAG_RULE}")
        if not isinstance(value, str) or not _TAG.fullmatch(value):
            raise InvalidInput(f"the value of tag {key!r} ({value!r}) is not valid: {TAG_RULE}")
        cleaned[key] = value
    return cleaned


MAX_CODEC_ENDPOINT = 2048
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class CodecServer:
    endpoint: str = ""
    pass_access_token: bool = False
    include_cross_origin_credentials: bool = False


def clean_codec_server(codec: CodecServer) -> CodecServer:
    """The endpoint must be ``https://`` (``http://localhost`` is allowed for development)."""
    endpoint = codec.endpoint.strip() if isinstance(codec.endpoint, str) else codec.endpoint
    if not isinstance(endpoint, str):
        raise InvalidInput("the codec server endpoint must be a URL")
    if not endpoint:
        if codec.pass_access_token or codec.include_cross_origin_credentials:
            raise InvalidInput("set a codec server endpoint to pass the access token or cross-origin credentials")
        return CodecServer()
    if len(endpoint) > MAX_CODEC_ENDPOINT:
        raise InvalidInput(f"the codec server endpoint is longer than {MAX_CODEC_ENDPOINT} characters")
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError:
        raise InvalidInput(f"the codec server endpoint {endpoint!r} is not a valid URL") from None
    if parts.scheme == "http" and host in _LOCAL_HOSTS:
        pass
    elif parts.scheme != "https" or not host:
        raise InvalidInput(
            f"the codec server endpoint {endpoint!r} must start with https:// (http:// only for localhost)"
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("the codec server endpoint may not hold a user name or password")
    return CodecServer(endpoint, bool(codec.pass_access_token), bool(codec.include_cross_origin_credentials))


# --- a whole namespace specification ------------------------------------------------------------


@dataclass(frozen=True)
class NamespaceSpec:
    """A namespace's settings as a create or update request gives them; ``clean_spec`` checks them.

    ``search_attributes`` may be a mapping or (name, type) pairs (so that a name given twice is
    caught); the cleaned spec always holds a mapping.
    """

    retention_days: int = 30
    api_key_auth: bool = True
    ca_bundle_pem: str = ""
    cert_filters: list[dict[str, str]] = field(default_factory=list)
    search_attributes: Mapping[str, str] | list[tuple[str, str]] = field(default_factory=dict)
    codec_server: CodecServer = CodecServer()
    deletion_protection: bool = False
    tags: dict[str, str] = field(default_factory=dict)


def clean_spec(
    spec: NamespaceSpec, *, now: datetime, existing_search_attributes: Mapping[str, str] | None = None
) -> NamespaceSpec:
    """Every rule at once, plus the ones between fields: a namespace needs a way in (API keys,
    a CA bundle, or both), and certificate filters need a CA bundle."""
    retention_days = clean_retention_days(spec.retention_days)
    ca_bundle = clean_ca_bundle(spec.ca_bundle_pem, now=now)
    filters = clean_cert_filters(spec.cert_filters)
    if filters and not ca_bundle:
        raise InvalidInput("certificate filters need a CA bundle (mTLS); add the CA certificates first")
    if not spec.api_key_auth and not ca_bundle:
        raise InvalidInput("a namespace needs API-key access, a CA bundle (mTLS), or both")
    return NamespaceSpec(
        retention_days=retention_days,
        api_key_auth=bool(spec.api_key_auth),
        ca_bundle_pem=ca_bundle,
        cert_filters=filters,
        search_attributes=clean_search_attributes(spec.search_attributes, existing=existing_search_attributes),
        codec_server=clean_codec_server(spec.codec_server),
        deletion_protection=bool(spec.deletion_protection),
        tags=clean_tags(spec.tags),
    )
