"""Namespace pages (``/a/<account_id>/namespaces/…``): the list with the create form, one
namespace's settings (with its search attributes), who may use it, its deletion, and how to
connect to it.

Same shape as the account pages (``accounts/views``): the caller comes from ``get_principal``
(a non-member gets a 404), reads go through ``namespaces.selectors`` (another account's or an
invisible namespace is a 404), writes through ``namespaces.services`` and the grant services,
and a refusal is shown by ``service_error_response`` with the service's own message. Controls
a caller may not use are not shown; posting anyway gets the service's refusal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.errors import InvalidInput, PermissionDenied, ServiceError
from accounts.models import NamespacePermission, Role
from accounts.permissions import ADMIN_ROLES, Action, can, can_manage_namespace
from accounts.principal import Principal
from accounts.selectors import member_list, service_account_list
from accounts.services.members import do_set_member_namespace_access
from accounts.services.service_accounts import do_set_service_account_namespace_access
from accounts.views.common import render_page, service_error_response
from accounts.web import get_principal
from namespaces.forms import (
    AccessForm,
    CreateNamespaceForm,
    DeleteNamespaceForm,
    NamespaceSettingsForm,
    SearchAttributeForm,
)
from namespaces.models import FAILED_STATE, Namespace
from namespaces.selectors import grants_by_holder, namespace_get, namespace_list, namespace_spec
from namespaces.services import do_create_namespace, do_delete_namespace, do_update_namespace
from namespaces.validation import CodecServer, NamespaceSpec

FAILED_STATES = frozenset(FAILED_STATE.values())


# --- what the pages show ------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateRow:
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    fingerprint_sha256: str
    expired: bool


def certificate_rows(pem: str, *, now: datetime) -> list[CertificateRow]:
    """The stored CA bundle as a table. Unlike ``parse_ca_bundle`` this does not refuse: a
    certificate that has expired since it was accepted is shown, marked expired."""
    if not pem.strip():
        return []
    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        return []
    return [
        CertificateRow(
            subject=cert.subject.rfc4514_string() or "(empty subject)",
            issuer=cert.issuer.rfc4514_string(),
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
            expired=cert.not_valid_after_utc <= now,
        )
        for cert in certs
    ]


def engine_endpoint() -> str:
    """Where tenants' SDKs connect: the public address if one is set, else the engine's own."""
    return str(settings.SUNDIAL_ENGINE_PUBLIC_ADDRESS or settings.SUNDIAL_ENGINE_ADDRESS)


def engine_serves_tls() -> bool:
    return bool(settings.SUNDIAL_ENGINE_PUBLIC_TLS)


def connection_snippets(endpoint: str, namespace_id: str, *, tls: bool, tls_suffix: str) -> dict[str, str]:
    """Copy-ready code for the official Python and TypeScript SDKs, with an API key or mTLS.

    A client certificate is checked against the CAs of the namespace named in the TLS server
    name, ``<namespace id>.<suffix>`` (the engine's ``--tls-namespace-suffix``), so the mTLS
    snippets set it (``domain`` / ``serverNameOverride``) whatever address they connect to.
    """
    py_tls = "True" if tls else "False"
    ts_tls = "true" if tls else "false"
    server_name = f"{namespace_id}.{tls_suffix.strip('.')}"
    return {
        "python_api_key": f"""import asyncio
import os

from temporalio.client import Client


async def main() -> None:
    client = await Client.connect(
        "{endpoint}",
        namespace="{namespace_id}",
        api_key=os.environ["SUNDIAL_API_KEY"],
        tls={py_tls},
    )
    async for workflow in client.list_workflows():
        print(workflow.id, workflow.workflow_type)


asyncio.run(main())
""",
        "typescript_api_key": f"""import {{ Client, Connection }} from '@temporalio/client';

const connection = await Connection.connect({{
  address: '{endpoint}',
  tls: {ts_tls},
  apiKey: process.env.SUNDIAL_API_KEY,
}});
const client = new Client({{ connection, namespace: '{namespace_id}' }});
for await (const workflow of client.workflow.list()) {{
  console.log(workflow.workflowId, workflow.type);
}}
""",
        "python_mtls": f"""import asyncio
from pathlib import Path

from temporalio.client import Client, TLSConfig


async def main() -> None:
    client = await Client.connect(
        "{endpoint}",
        namespace="{namespace_id}",
        tls=TLSConfig(
            domain="{server_name}",
            client_cert=Path("client.pem").read_bytes(),
            client_private_key=Path("client.key").read_bytes(),
            # If the engine's server certificate is not publicly trusted, add its CA:
            # server_root_ca_cert=Path("server-ca.pem").read_bytes(),
        ),
    )
    async for workflow in client.list_workflows():
        print(workflow.id, workflow.workflow_type)


asyncio.run(main())
""",
        "typescript_mtls": f"""import {{ readFileSync }} from 'node:fs';
import {{ Client, Connection }} from '@temporalio/client';

const connection = await Connection.connect({{
  address: '{endpoint}',
  tls: {{
    serverNameOverride: '{server_name}',
    clientCertPair: {{
      crt: readFileSync('client.pem'),
      key: readFileSync('client.key'),
    }},
    // If the engine's server certificate is not publicly trusted, add its CA:
    // serverRootCACertificate: readFileSync('server-ca.pem'),
  }},
}});
const client = new Client({{ connection, namespace: '{namespace_id}' }});
""",
    }


def namespace_header_context(principal: Principal, namespace: Namespace) -> dict[str, object]:
    """What ``namespaces/_header.html`` needs (the namespace pages and the console's), with the
    other namespaces the caller may see for its switcher."""
    others = namespace_list(principal=principal).exclude(pk=namespace.pk).values_list("name", flat=True)
    return {
        "namespace": namespace,
        "other_namespaces": list(others),
        "can_manage": can_manage_namespace(principal, namespace.name),
        "failed": namespace.state in FAILED_STATES,
    }


# --- the list and the create form ---------------------------------------------------------------


def _list_page(
    request: HttpRequest, principal: Principal, *, form: CreateNamespaceForm | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "namespaces": list(namespace_list(principal=principal)),
        "failed_states": FAILED_STATES,
        "can_create": can(principal, Action.CREATE_NAMESPACE),
        "form": form or CreateNamespaceForm(),
    }
    return render_page(request, principal, "namespaces/list.html", context, status=status)


def _spec_from(form: NamespaceSettingsForm, base: NamespaceSpec) -> NamespaceSpec:
    data = form.cleaned_data
    return dataclasses.replace(
        base,
        retention_days=data.get("retention_days"),  # type: ignore[arg-type]  # None: the service says why
        api_key_auth=bool(data.get("api_key_auth")),
        ca_bundle_pem=form.ca_bundle(),
        cert_filters=data.get("cert_filters") or [],
        codec_server=CodecServer(
            data.get("codec_endpoint", ""),
            bool(data.get("codec_pass_access_token")),
            bool(data.get("codec_include_cross_origin_credentials")),
        ),
        deletion_protection=bool(data.get("deletion_protection")),
    )


def _resolve(request: HttpRequest, account_id: str, name: str) -> tuple[Principal, Namespace] | HttpResponse:
    """The caller and the namespace of the URL, or the error page (404 for what they may not see)."""
    principal = get_principal(request, account_id)
    try:
        return principal, namespace_get(principal=principal, namespace=name)
    except ServiceError as exc:
        return service_error_response(request, exc, principal=principal)


@login_required
def namespaces(request: HttpRequest, account_id: str) -> HttpResponse:
    principal = get_principal(request, account_id)
    if request.method != "POST":
        return _list_page(request, principal)
    form = CreateNamespaceForm(request.POST, request.FILES)
    if not form.is_valid():
        if not can(principal, Action.CREATE_NAMESPACE):  # the role refusal comes before the input's
            refusal = PermissionDenied(f"your role ({principal.role.label}) may not create namespace")
            return service_error_response(request, refusal, principal=principal)
        return _list_page(request, principal, form=form, status=400)
    try:
        namespace = do_create_namespace(
            principal, name=form.cleaned_data.get("name", ""), spec=_spec_from(form, NamespaceSpec())
        )
    except ServiceError as exc:
        return service_error_response(
            request, exc, principal=principal, form=form, rerender=lambda: _list_page(request, principal, form=form)
        )
    messages.success(request, f"Namespace {namespace.namespace_id} is being created.")
    return redirect("namespace_settings", account_id=account_id, name=namespace.name)


# --- one namespace's settings -------------------------------------------------------------------


def _settings_initial(namespace: Namespace) -> dict[str, object]:
    filters = "\n".join(
        "; ".join(f"{key}={value}" for key, value in item.items() if value) for item in namespace.cert_filters
    )
    return {
        "retention_days": namespace.retention_days,
        "api_key_auth": namespace.api_key_auth,
        "ca_bundle_pem": namespace.ca_bundle_pem,
        "cert_filters": filters,
        "codec_endpoint": namespace.codec_endpoint,
        "codec_pass_access_token": namespace.codec_pass_access_token,
        "codec_include_cross_origin_credentials": namespace.codec_include_cross_origin_credentials,
        "deletion_protection": namespace.deletion_protection,
    }


def _settings_page(
    request: HttpRequest,
    principal: Principal,
    namespace: Namespace,
    *,
    form: NamespaceSettingsForm | None = None,
    attribute_form: SearchAttributeForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        **namespace_header_context(principal, namespace),
        "certificates": certificate_rows(namespace.ca_bundle_pem, now=timezone.now()),
        "form": form or NamespaceSettingsForm(initial=_settings_initial(namespace)),
        "attribute_form": attribute_form or SearchAttributeForm(),
    }
    return render_page(request, principal, "namespaces/settings.html", context, status=status)


@login_required
def namespace_settings(request: HttpRequest, account_id: str, name: str) -> HttpResponse:
    found = _resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    if request.method != "POST":
        return _settings_page(request, principal, namespace)
    form = NamespaceSettingsForm(request.POST, request.FILES)
    if not form.is_valid():
        if not can_manage_namespace(principal, namespace.name):
            refusal = PermissionDenied(f"you need Namespace Admin on {namespace.name!r} to change it")
            return service_error_response(request, refusal, principal=principal)
        return _settings_page(request, principal, namespace, form=form, status=400)
    try:
        namespace = do_update_namespace(
            principal, namespace=namespace.name, spec=_spec_from(form, namespace_spec(namespace))
        )
    except ServiceError as exc:
        return service_error_response(
            request,
            exc,
            principal=principal,
            form=form,
            rerender=lambda: _settings_page(request, principal, namespace, form=form),
        )
    messages.success(request, f"Namespace {namespace.name} is being updated.")
    return redirect("namespace_settings", account_id=account_id, name=namespace.name)


@login_required
@require_POST
def add_search_attribute(request: HttpRequest, account_id: str, name: str) -> HttpResponse:
    found = _resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    form = SearchAttributeForm(request.POST)
    form.is_valid()
    added = (form.cleaned_data.get("name", ""), form.cleaned_data.get("type", ""))
    spec = namespace_spec(namespace)
    # Pairs, not a mapping: a name that is already there is caught as listed twice.
    wanted = [*dict(spec.search_attributes).items(), added]
    try:
        do_update_namespace(
            principal, namespace=namespace.name, spec=dataclasses.replace(spec, search_attributes=wanted)
        )
    except ServiceError as exc:
        return service_error_response(
            request,
            exc,
            principal=principal,
            form=form,
            rerender=lambda: _settings_page(request, principal, namespace, attribute_form=form),
        )
    messages.success(request, f"Search attribute {added[0]} ({added[1]}) is being added to {namespace.name}.")
    return redirect("namespace_settings", account_id=account_id, name=namespace.name)


# --- who may use it -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessRow:
    key: str  # "user:<id>" or "sa:<id>", what the forms post
    kind: str
    label: str
    permission: str  # "admin", "write", "read" or ""
    inherited_from: str  # the account role that makes them Admin everywhere, or ""


def _access_rows(principal: Principal, namespace: Namespace) -> list[AccessRow]:
    by_member, by_sa = grants_by_holder(namespace)
    rows: list[AccessRow] = []
    for member in member_list(principal=principal):
        inherited = Role(member.role).label if member.role in ADMIN_ROLES else ""
        rows.append(
            AccessRow(
                f"user:{member.public_id}",
                "User",
                member.user.email,
                NamespacePermission.ADMIN if inherited else by_member.get(member.pk, ""),
                inherited,
            )
        )
    for sa in service_account_list(principal=principal):
        inherited = Role(sa.role).label if sa.role in ADMIN_ROLES else ""
        rows.append(
            AccessRow(
                f"sa:{sa.public_id}",
                "Service account",
                sa.name,
                NamespacePermission.ADMIN if inherited else by_sa.get(sa.pk, ""),
                inherited,
            )
        )
    return rows


def _access_page(
    request: HttpRequest,
    principal: Principal,
    namespace: Namespace,
    *,
    form: AccessForm | None = None,
    status: int = 200,
) -> HttpResponse:
    rows = _access_rows(principal, namespace)
    grantable = [(r.key, f"{r.label} ({r.kind.lower()})") for r in rows if not r.inherited_from and not r.permission]
    if form is None:
        form = AccessForm()
    form.offer(grantable)
    context = {
        **namespace_header_context(principal, namespace),
        "rows": rows,
        "permissions": [(p.value, p.label) for p in NamespacePermission],
        "form": form,
        "can_grant": bool(grantable),
    }
    return render_page(request, principal, "namespaces/access.html", context, status=status)


def _set_access(principal: Principal, namespace: Namespace, key: str, permission: str | None) -> str:
    kind, _, public_id = key.partition(":")
    if kind == "user" and public_id:
        member = do_set_member_namespace_access(
            principal, member_id=public_id, namespace=namespace.name, permission=permission
        )
        return member.user.email
    if kind == "sa" and public_id:
        sa = do_set_service_account_namespace_access(
            principal, service_account_id=public_id, namespace=namespace.name, permission=permission
        )
        return sa.name
    raise InvalidInput("choose a user or service account")


@login_required
def namespace_access(request: HttpRequest, account_id: str, name: str) -> HttpResponse:
    found = _resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    if request.method != "POST":
        return _access_page(request, principal, namespace)
    form = AccessForm(request.POST)
    form.is_valid()
    key = form.cleaned_data.get("principal", "")
    chosen = form.cleaned_data.get("permission", "")
    permission = None if chosen == "none" else chosen
    try:
        who = _set_access(principal, namespace, key, permission)
    except ServiceError as exc:
        return service_error_response(
            request,
            exc,
            principal=principal,
            form=form,
            rerender=lambda: _access_page(request, principal, namespace, form=form),
        )
    if permission is None:
        messages.success(request, f"{who} no longer has access to {namespace.name}.")
    else:
        label = NamespacePermission(permission).label
        messages.success(request, f"{who} now has {label} on {namespace.name}.")
    return redirect("namespace_access", account_id=account_id, name=namespace.name)


# --- deletion -----------------------------------------------------------------------------------


def _delete_page(
    request: HttpRequest,
    principal: Principal,
    namespace: Namespace,
    *,
    form: DeleteNamespaceForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {**namespace_header_context(principal, namespace), "form": form or DeleteNamespaceForm()}
    return render_page(request, principal, "namespaces/delete.html", context, status=status)


@login_required
def delete_namespace(request: HttpRequest, account_id: str, name: str) -> HttpResponse:
    found = _resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    if request.method != "POST":
        return _delete_page(request, principal, namespace)
    form = DeleteNamespaceForm(request.POST)
    form.is_valid()
    try:
        if not can_manage_namespace(principal, namespace.name):
            raise PermissionDenied(f"you need Namespace Admin on {namespace.name!r} to change it")
        if form.cleaned_data.get("confirm", "").strip() != namespace.name:
            raise InvalidInput(f"type the namespace name ({namespace.name}) to confirm its deletion")
        do_delete_namespace(principal, namespace=namespace.name)
    except ServiceError as exc:
        return service_error_response(
            request,
            exc,
            principal=principal,
            form=form,
            rerender=lambda: _delete_page(request, principal, namespace, form=form),
        )
    messages.success(request, f"Namespace {namespace.namespace_id} is being deleted.")
    return redirect("namespaces", account_id=account_id)


# --- how to connect -----------------------------------------------------------------------------


@login_required
def namespace_connect(request: HttpRequest, account_id: str, name: str) -> HttpResponse:
    found = _resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    endpoint = engine_endpoint()
    context = {
        **namespace_header_context(principal, namespace),
        "endpoint": endpoint,
        "tls_suffix": settings.SUNDIAL_ENGINE_TLS_NAMESPACE_SUFFIX.strip("."),
        "snippets": connection_snippets(
            endpoint,
            namespace.namespace_id,
            tls=engine_serves_tls(),
            tls_suffix=settings.SUNDIAL_ENGINE_TLS_NAMESPACE_SUFFIX,
        ),
    }
    return render_page(request, principal, "namespaces/connect.html", context)
