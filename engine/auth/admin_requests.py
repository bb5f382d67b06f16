"""The admin API's JSON requests, validated into typed specs (docs/engine-admin-api.md).

Every field is checked for presence, type and range, and unknown fields are refused, each
failure an `AdminError` (INVALID_ARGUMENT) naming the field by its path
(`principals[1].grants.payments`), so nothing is stored from a request that is wrong anywhere.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc

from engine.auth.permissions import Permission
from engine.visibility.attributes import CUSTOM_NAME, TYPE_BY_LABEL, SaType

NAMESPACE_ID = re.compile(r"^([a-z][a-z0-9-]{1,38})\.([a-z0-9]{1,32})$")
ACCOUNT_ID = re.compile(r"^[a-z0-9]{1,32}$")
SHORT_NAME = re.compile(r"^[a-z][a-z0-9-]{1,38}$")
PRINCIPAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
KEY_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")  # no '_': the token is sdl_<key_id>_<secret>
DIGEST = re.compile(r"^[0-9a-f]{64}$")
PRINCIPAL_KINDS = ("user", "service_account")
FILTER_FIELDS = ("common_name", "organization", "organizational_unit", "subject_alternative_name")
MAX_RETENTION_DAYS = 90
MAX_DESCRIPTION = 1024
MAX_NAME = 320
MAX_CA_BUNDLE_BYTES = 32 * 1024
MAX_CA_CERTIFICATES = 16
MAX_FILTERS = 25
MAX_FILTER_VALUE = 255
MAX_PRINCIPALS = MAX_KEYS = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


class AdminError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(path: str, problem: str) -> AdminError:
    return AdminError(grpc.StatusCode.INVALID_ARGUMENT, f"{path}: {problem}" if path else problem)


@dataclass(frozen=True)
class MtlsSpec:
    ca_bundle_pem: str
    filters: tuple[dict[str, str], ...]


@dataclass(frozen=True)
class NamespaceSpec:
    namespace: str
    account_id: str
    retention_days: int
    description: str
    search_attributes: dict[str, SaType]
    api_key_auth: bool
    mtls: MtlsSpec | None


@dataclass(frozen=True)
class PrincipalSpec:
    principal_id: str
    kind: str
    name: str
    account_admin: bool
    grants: dict[str, Permission]


@dataclass(frozen=True)
class KeySpec:
    key_id: str
    principal_id: str
    digest: str
    expires_at: int | None  # ns since the epoch
    disabled: bool


@dataclass(frozen=True)
class AccountAccessSpec:
    account_id: str
    principals: tuple[PrincipalSpec, ...]
    api_keys: tuple[KeySpec, ...]


def decode_json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8")) if data else {}
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid("", f"the request is not a UTF-8 JSON document: {exc}") from None
    if not isinstance(value, dict):
        raise invalid("", "the request must be a JSON object")
    return value


class _Fields:
    """One JSON object being read: typed getters that name the field in their errors."""

    def __init__(self, value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> None:
        if not isinstance(value, dict):
            raise invalid(path, "must be a JSON object")
        for key in value:
            if key not in required and key not in optional:
                expected = ", ".join((*required, *optional))
                raise invalid(_join(path, key), f"unknown field (expected {expected})")
        for key in required:
            if key not in value:
                raise invalid(_join(path, key), "is required")
        self.value = value
        self.path = path

    def at(self, key: str) -> str:
        return _join(self.path, key)

    def text(self, key: str, *, pattern: re.Pattern[str] | None = None, max_length: int = 0, default: str = "") -> str:
        value = self.value.get(key, default)
        if not isinstance(value, str):
            raise invalid(self.at(key), "must be a string")
        if max_length and len(value) > max_length:
            raise invalid(self.at(key), f"must be at most {max_length} characters")
        if pattern is not None and not pattern.match(value):
            raise invalid(self.at(key), f"{value!r} is not valid")
        return value

    def flag(self, key: str, *, default: bool = False) -> bool:
        value = self.value.get(key, default)
        if not isinstance(value, bool):
            raise invalid(self.at(key), "must be true or false")
        return value

    def number(self, key: str, *, minimum: int, maximum: int) -> int:
        value = self.value.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid(self.at(key), "must be a whole number")
        if not minimum <= value <= maximum:
            raise invalid(self.at(key), f"must be between {minimum} and {maximum} (got {value})")
        return value

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.value.get(key, {})
        if not isinstance(value, dict):
            raise invalid(self.at(key), "must be a JSON object")
        return value

    def array(self, key: str, *, max_items: int) -> list[Any]:
        value = self.value.get(key, [])
        if not isinstance(value, list):
            raise invalid(self.at(key), "must be a JSON array")
        if len(value) > max_items:
            raise invalid(self.at(key), f"must have at most {max_items} items")
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- PutNamespace ---------------------------------------------------------------------------


def namespace_name(fields: _Fields) -> str:
    name = fields.text("namespace")
    if not NAMESPACE_ID.match(name):
        raise invalid(
            "namespace",
            f"{name!r} is not a namespace id '<name>.<account id>' (name: 2-39 of a-z, 0-9 and '-', "
            "starting with a letter)",
        )
    return name


def put_namespace_spec(document: Mapping[str, Any]) -> NamespaceSpec:
    fields = _Fields(
        document,
        "",
        ("namespace", "account_id", "retention_days", "api_key_auth"),
        ("description", "search_attributes", "mtls"),
    )
    name = namespace_name(fields)
    account_id = fields.text("account_id", pattern=ACCOUNT_ID)
    if name.split(".", 1)[1] != account_id:
        raise invalid("namespace", f"{name!r} does not end with the account id '.{account_id}'")
    search_attributes: dict[str, SaType] = {}
    for attribute, label in fields.mapping("search_attributes").items():
        sa_type = TYPE_BY_LABEL.get(label) if isinstance(label, str) else None
        if sa_type is None:
            labels = ", ".join(TYPE_BY_LABEL)
            raise invalid(f"search_attributes.{attribute}", f"unknown type {label!r} (expected one of {labels})")
        search_attributes[attribute] = sa_type
    mtls = document.get("mtls")
    return NamespaceSpec(
        namespace=name,
        account_id=account_id,
        retention_days=fields.number("retention_days", minimum=1, maximum=MAX_RETENTION_DAYS),
        description=fields.text("description", max_length=MAX_DESCRIPTION),
        search_attributes=search_attributes,
        api_key_auth=fields.flag("api_key_auth"),
        mtls=None if mtls is None else _mtls_spec(mtls),
    )


def _mtls_spec(value: Any) -> MtlsSpec:
    fields = _Fields(value, "mtls", ("ca_bundle_pem",), ("filters",))
    pem = fields.text("ca_bundle_pem")
    _check_ca_bundle(pem)
    filters = []
    for index, item in enumerate(fields.array("filters", max_items=MAX_FILTERS)):
        filter_fields = _Fields(item, f"mtls.filters[{index}]", (), FILTER_FIELDS)
        entry = {key: filter_fields.text(key, max_length=MAX_FILTER_VALUE) for key in FILTER_FIELDS}
        for key, pattern in entry.items():
            if "*" in pattern.strip("*") or pattern.count("*") > 1:
                raise invalid(filter_fields.at(key), "may hold one '*', only at its start or end")
        if not any(entry.values()):
            raise invalid(f"mtls.filters[{index}]", "needs at least one non-empty field")
        filters.append(entry)
    return MtlsSpec(pem, tuple(filters))


def _check_ca_bundle(pem: str) -> None:
    """PEM CERTIFICATE blocks of DER, nothing else (the control plane checks that each is a CA;
    mTLS enforcement parses them)."""
    path = "mtls.ca_bundle_pem"
    if len(pem.encode()) > MAX_CA_BUNDLE_BYTES:
        raise invalid(path, f"must be at most {MAX_CA_BUNDLE_BYTES} bytes")
    blocks = _PEM_BLOCK.findall(pem)
    if pem.count("-----BEGIN ") != len(blocks) or not blocks:
        raise invalid(path, "must hold one or more complete PEM certificate blocks")
    if len(blocks) > MAX_CA_CERTIFICATES:
        raise invalid(path, f"must hold at most {MAX_CA_CERTIFICATES} certificates")
    for index, (label, body) in enumerate(blocks):
        if label != "CERTIFICATE":
            raise invalid(path, f"block {index + 1} is {label!r}: only CERTIFICATE blocks are accepted")
        try:
            der = base64.b64decode("".join(body.split()), validate=True)
        except (binascii.Error, ValueError):
            der = b""
        if der[:1] != b"\x30":
            raise invalid(path, f"certificate {index + 1} is not base64 DER")


# --- DeleteNamespace ------------------------------------------------------------------------


def delete_namespace_name(document: Mapping[str, Any]) -> str:
    return namespace_name(_Fields(document, "", ("namespace",)))


# --- SyncAccountAccess ----------------------------------------------------------------------


def account_access_spec(document: Mapping[str, Any]) -> AccountAccessSpec:
    fields = _Fields(document, "", ("account_id", "principals", "api_keys"))
    account_id = fields.text("account_id", pattern=ACCOUNT_ID)
    principals: dict[str, PrincipalSpec] = {}
    for index, item in enumerate(fields.array("principals", max_items=MAX_PRINCIPALS)):
        principal = _principal_spec(item, f"principals[{index}]")
        if principal.principal_id in principals:
            raise invalid(f"principals[{index}].principal_id", f"{principal.principal_id!r} is listed twice")
        principals[principal.principal_id] = principal
    keys: dict[str, KeySpec] = {}
    for index, item in enumerate(fields.array("api_keys", max_items=MAX_KEYS)):
        key = _key_spec(item, f"api_keys[{index}]")
        if key.key_id in keys:
            raise invalid(f"api_keys[{index}].key_id", f"{key.key_id!r} is listed twice")
        if key.principal_id not in principals:
            raise invalid(f"api_keys[{index}].principal_id", f"{key.principal_id!r} is not one of the principals")
        keys[key.key_id] = key
    return AccountAccessSpec(account_id, tuple(principals.values()), tuple(keys.values()))


def _principal_spec(value: Any, path: str) -> PrincipalSpec:
    fields = _Fields(value, path, ("principal_id", "kind", "name", "account_admin"), ("grants",))
    kind = fields.text("kind")
    if kind not in PRINCIPAL_KINDS:
        raise invalid(fields.at("kind"), f"{kind!r} is not one of {', '.join(PRINCIPAL_KINDS)}")
    grants: dict[str, Permission] = {}
    for namespace, permission in fields.mapping("grants").items():
        at = f"{fields.at('grants')}.{namespace}"
        if not SHORT_NAME.match(namespace):
            raise invalid(at, "is not a namespace name (2-39 of a-z, 0-9 and '-', starting with a letter)")
        try:
            grants[namespace] = Permission.parse(permission if isinstance(permission, str) else "")
        except ValueError:
            raise invalid(at, f"unknown permission {permission!r} (expected read, write or admin)") from None
    return PrincipalSpec(
        principal_id=fields.text("principal_id", pattern=PRINCIPAL_ID),
        kind=kind,
        name=fields.text("name", max_length=MAX_NAME),
        account_admin=fields.flag("account_admin"),
        grants=grants,
    )


def _key_spec(value: Any, path: str) -> KeySpec:
    fields = _Fields(value, path, ("key_id", "principal_id", "digest", "expires_at", "disabled"))
    expires = fields.value["expires_at"]
    expires_at: int | None = None
    if expires is not None:
        expires_at = _timestamp(fields.text("expires_at"), fields.at("expires_at"))
    return KeySpec(
        key_id=fields.text("key_id", pattern=KEY_ID),
        principal_id=fields.text("principal_id", pattern=PRINCIPAL_ID),
        digest=fields.text("digest", pattern=DIGEST),
        expires_at=expires_at,
        disabled=fields.flag("disabled"),
    )


def _timestamp(text: str, path: str) -> int:
    """An RFC 3339 time with its offset, as ns since the epoch."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise invalid(path, f"{text!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise invalid(path, f"{text!r} has no time zone offset (use 'Z' for UTC)")
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


# --- RenameSearchAttribute ------------------------------------------------------------------


@dataclass(frozen=True)
class RenameSpec:
    namespace: str
    old_name: str
    new_name: str
    sa_type: SaType | None


def rename_search_attribute_spec(document: Mapping[str, Any]) -> RenameSpec:
    fields = _Fields(document, "", ("namespace", "old_name", "new_name"), ("type",))
    name = namespace_name(fields)
    old_name = fields.text("old_name", pattern=CUSTOM_NAME)
    new_name = fields.text("new_name", pattern=CUSTOM_NAME)
    sa_type: SaType | None = None
    if "type" in document:
        label = fields.text("type")
        sa_type = TYPE_BY_LABEL.get(label)
        if sa_type is None:
            raise invalid("type", f"unknown type {label!r} (expected one of {', '.join(TYPE_BY_LABEL)})")
    return RenameSpec(name, old_name, new_name, sa_type)
