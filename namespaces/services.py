"""Writes on namespaces: create, update, delete, rename a search attribute. Each is an async operation.

Like ``accounts/services/*``, each ``do_*`` checks permission, validates, changes the row and
writes the audit entry in one transaction. It also leaves an ``AsyncOperation`` PENDING and
queues ``namespaces.provision`` on commit; the task finishes the operation once the engine
confirms (or FAILED when the engine refuses the input). Only one change is in flight per
namespace: another change while one is pending is refused (FAILED_PRECONDITION).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.errors import AlreadyExists, FailedPrecondition, InvalidInput, NotFound, PermissionDenied
from accounts.models import Account, NamespaceGrant, NamespacePermission
from accounts.operations import begin_deferred_operation, operation_scope
from accounts.permissions import (
    Action,
    can_edit_namespace_tags,
    can_manage_namespace,
    can_view_namespace,
    is_admin,
    require,
)
from accounts.principal import Principal
from accounts.services.common import access_changed, bump_version, check_version, namespace_name
from audit.services import audited
from namespaces.models import PENDING_STATES, Namespace, NamespaceState
from namespaces.selectors import namespace_spec
from namespaces.validation import NamespaceSpec, clean_name, clean_search_attributes, clean_spec

# Temporal Cloud's default (raised on request there); a module constant so that tests can lower it.
MAX_NAMESPACES_PER_ACCOUNT = 10


def _summary(spec: NamespaceSpec) -> dict[str, Any]:
    """What the audit log records of a spec: the CA bundle by digest, not its 32 KB of PEM.
    Keys avoid the audit redaction's markers ("codec" holds "code")."""
    return {
        "retention_days": spec.retention_days,
        "api_key_auth": spec.api_key_auth,
        "ca_bundle_sha256": hashlib.sha256(spec.ca_bundle_pem.encode()).hexdigest() if spec.ca_bundle_pem else "",
        "cert_filters": list(spec.cert_filters),
        "search_attributes": dict(spec.search_attributes),
        "payload_decoding_server": {
            "endpoint": spec.codec_server.endpoint,
            "passes_access": spec.codec_server.pass_access_token,
            "include_cross_origin_credentials": spec.codec_server.include_cross_origin_credentials,
        },
        "deletion_protection": spec.deletion_protection,
        "tags": dict(spec.tags),
    }


def _apply(namespace: Namespace, spec: NamespaceSpec) -> None:
    namespace.retention_days = spec.retention_days
    namespace.api_key_auth = spec.api_key_auth
    namespace.ca_bundle_pem = spec.ca_bundle_pem
    namespace.cert_filters = list(spec.cert_filters)
    namespace.search_attributes = dict(spec.search_attributes)
    namespace.codec_endpoint = spec.codec_server.endpoint
    namespace.codec_pass_access_token = spec.codec_server.pass_access_token
    namespace.codec_include_cross_origin_credentials = spec.codec_server.include_cross_origin_credentials
    namespace.deletion_protection = spec.deletion_protection
    namespace.tags = dict(spec.tags)


def _defer(principal: Principal, namespace: Namespace, operation_type: str, request: dict[str, Any]) -> None:
    """Leave the change's operation PENDING and queue the task that finishes it after commit."""
    from namespaces.tasks import queue_provisioning

    namespace.async_operation = begin_deferred_operation(
        principal, operation_type=operation_type, request=request, result={"namespace": namespace.namespace_id}
    )
    namespace.save(update_fields=["async_operation"])
    pk = namespace.pk
    transaction.on_commit(lambda: queue_provisioning(pk), robust=True)


def do_create_namespace(principal: Principal, *, name: str, spec: NamespaceSpec | None = None) -> Namespace:
    """Create a namespace (state ACTIVATING). Owners, Global Admins and Developers may; a
    Developer (or service account) becomes Namespace Admin of what it creates."""
    spec = spec or NamespaceSpec()
    account_id = principal.account.account_id
    with operation_scope(), audited(principal, "CreateNamespaceAPI", target_type="namespace") as entry:
        entry["details"] = {"name": name}
        require(principal, Action.CREATE_NAMESPACE)
        name = clean_name(name)
        entry["target_id"] = f"{name}.{account_id}"
        cleaned = clean_spec(spec, now=timezone.now())
        if cleaned.tags and not can_edit_namespace_tags(principal):
            raise PermissionDenied("only Account Owners and Global Admins may set namespace tags")
        entry["details"] = {"name": name, **_summary(cleaned)}
        account = Account.objects.select_for_update().get(pk=principal.account.pk)  # one create at a time
        existing = Namespace.objects.filter(account=account, name=name).first()
        if existing is not None:
            if existing.state == NamespaceState.DELETING:
                raise AlreadyExists(f"namespace {name!r} is being deleted; its name is free once that finishes")
            raise AlreadyExists(f"a namespace named {name!r} already exists")
        count = Namespace.objects.filter(account=account).count()
        if count >= MAX_NAMESPACES_PER_ACCOUNT:
            raise FailedPrecondition(
                f"an account may have at most {MAX_NAMESPACES_PER_ACCOUNT} namespaces; delete one first"
            )
        namespace = Namespace(account=account, name=name, state=NamespaceState.ACTIVATING, created_by=principal.user)
        _apply(namespace, cleaned)
        try:
            with transaction.atomic():
                namespace.save()
        except IntegrityError:
            raise AlreadyExists(f"a namespace named {name!r} already exists") from None
        if not is_admin(principal):
            owner = (
                {"membership": principal.membership}
                if principal.membership is not None
                else {"service_account": principal.service_account}
            )
            NamespaceGrant.objects.update_or_create(
                **owner, namespace=name, defaults={"permission": NamespacePermission.ADMIN, "account": account}
            )
            access_changed(account)
        _defer(principal, namespace, "CreateNamespace", {"name": name, **_summary(cleaned)})
    return namespace


def _lock(principal: Principal, namespace: str) -> Namespace:
    """The namespace to change, locked; NotFound for another account's or an invisible one,
    PermissionDenied for one the caller sees but does not administer."""
    name = namespace_name(principal.account.account_id, namespace)
    found = (
        Namespace.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(account=principal.account, name=name)
        .first()
    )
    if found is None or not can_view_namespace(principal, name):
        raise NotFound(f"namespace {namespace.strip()!r} not found")
    if not can_manage_namespace(principal, name):
        raise PermissionDenied(f"you need Namespace Admin on {name!r} to change it")
    return found


def _refuse_if_busy(namespace: Namespace) -> None:
    if namespace.state in PENDING_STATES:
        operation = namespace.async_operation.operation_id if namespace.async_operation else ""
        raise FailedPrecondition(
            f"namespace {namespace.name!r} is {NamespaceState(namespace.state).label.lower()}"
            f"{f' (operation {operation})' if operation else ''}; try again when that has finished"
        )


def do_update_namespace(
    principal: Principal, *, namespace: str, spec: NamespaceSpec, resource_version: str | None = None
) -> Namespace:
    """Replace the namespace's settings with ``spec`` (state UPDATING). Namespace Admins only.

    A namespace whose last change failed may be sent again unchanged, to retry it.
    """
    with operation_scope(), audited(principal, "UpdateNamespaceAPI", target_type="namespace") as entry:
        found = _lock(principal, namespace)
        entry["target_id"] = found.namespace_id
        check_version(found, resource_version, "namespace")
        _refuse_if_busy(found)
        if found.state == NamespaceState.DELETE_FAILED:
            raise FailedPrecondition(f"namespace {found.name!r} failed to delete; delete it again")
        cleaned = clean_spec(spec, now=timezone.now(), existing_search_attributes=found.provisioned_search_attributes)
        if cleaned.tags != found.tags and not can_edit_namespace_tags(principal):
            raise PermissionDenied("only Account Owners and Global Admins may change namespace tags")
        before, after = _summary(namespace_spec(found)), _summary(cleaned)
        changes = {key: {"from": before[key], "to": value} for key, value in after.items() if before[key] != value}
        retry = found.state in (NamespaceState.ACTIVATION_FAILED, NamespaceState.UPDATE_FAILED)
        if not changes and not retry:
            raise InvalidInput(f"namespace {found.name!r} already has these settings; nothing to change")
        entry["details"] = changes
        _apply(found, cleaned)
        never_created = found.state == NamespaceState.ACTIVATION_FAILED
        found.state = NamespaceState.ACTIVATING if never_created else NamespaceState.UPDATING
        found.last_error = ""
        found.save()
        bump_version(found)
        _defer(principal, found, "UpdateNamespace", {"namespace": found.namespace_id, **after})
    return found


def do_delete_namespace(principal: Principal, *, namespace: str, resource_version: str | None = None) -> Namespace:
    """Delete the namespace (state DELETING; the row goes once the engine confirms). Namespace
    Admins only, and never while deletion protection is on."""
    with operation_scope(), audited(principal, "DeleteNamespaceAPI", target_type="namespace") as entry:
        found = _lock(principal, namespace)
        entry["target_id"] = found.namespace_id
        check_version(found, resource_version, "namespace")
        if found.deletion_protection:
            raise FailedPrecondition(
                f"namespace {found.name!r} has deletion protection on; switch it off before deleting the namespace"
            )
        _refuse_if_busy(found)
        entry["details"] = {"name": found.name, "state_before": found.state}
        found.state = NamespaceState.DELETING
        found.last_error = ""
        found.save(update_fields=["state", "last_error", "updated_at"])
        bump_version(found)
        _defer(principal, found, "DeleteNamespace", {"namespace": found.namespace_id})
    return found


def do_rename_search_attribute(
    principal: Principal, *, namespace: str, old_name: str, new_name: str, resource_version: str | None = None
) -> Namespace:
    """Rename a custom search attribute (state UPDATING). Namespace Admins only, and only on an
    ACTIVE namespace. The new name takes the old one's place in ``search_attributes`` at once;
    ``namespaces.provisioning`` renames it on the engine (existing runs keep their values under
    the new name) and then confirms ``provisioned_search_attributes``, or puts the old name back
    if the engine refuses."""
    with operation_scope(), audited(principal, "RenameCustomSearchAttributeAPI", target_type="namespace") as entry:
        entry["details"] = {"from": old_name, "to": new_name}
        found = _lock(principal, namespace)
        entry["target_id"] = found.namespace_id
        check_version(found, resource_version, "namespace")
        _refuse_if_busy(found)
        if found.state != NamespaceState.ACTIVE:
            raise FailedPrecondition(
                f"namespace {found.name!r} is {NamespaceState(found.state).label.lower()}; search attributes can be"
                " renamed once its last change has succeeded"
            )
        if not old_name:
            raise InvalidInput("the search attribute to rename is required")
        if not new_name:
            raise InvalidInput("the new search attribute name is required")
        if old_name not in found.search_attributes:
            raise NotFound(f"namespace {found.name!r} has no custom search attribute {old_name!r}")
        if new_name == old_name:
            raise InvalidInput(f"search attribute {old_name!r} already has that name")
        if new_name in found.search_attributes:
            raise AlreadyExists(f"namespace {found.name!r} already has a custom search attribute {new_name!r}")
        renamed = clean_search_attributes(
            [((new_name if name == old_name else name), label) for name, label in found.search_attributes.items()]
        )
        found.search_attributes = renamed
        found.state = NamespaceState.UPDATING
        found.last_error = ""
        found.save(update_fields=["search_attributes", "state", "last_error", "updated_at"])
        bump_version(found)
        _defer(
            principal,
            found,
            "RenameCustomSearchAttribute",
            {"namespace": found.namespace_id, "from": old_name, "to": new_name, "type": renamed[new_name]},
        )
    return found
