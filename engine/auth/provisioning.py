"""What the admin API's methods do, once their requests are valid: each is idempotent, stores
through the `Store`, and reloads the access snapshot so the next tenant call sees the change."""

from __future__ import annotations

import json
from typing import Any

import grpc

from engine.auth.access import AccessControl
from engine.auth.admin_requests import AccountAccessSpec, AdminError, NamespaceSpec, RenameSpec, invalid
from engine.frontend.namespace_reaper import NamespaceReaper
from engine.frontend.namespaces import DELETED, NamespaceRegistry
from engine.persistence.access_records import AccessConflict, ApiKeyRow, NamespaceAuth, PrincipalRow
from engine.persistence.store import Store
from engine.visibility.registry import AlreadyExists, NotDefined, SearchAttributeError, SearchAttributeRegistry

DAY = 24 * 3600


class Provisioner:
    def __init__(
        self,
        store: Store,
        namespaces: NamespaceRegistry,
        search_attributes: SearchAttributeRegistry,
        access: AccessControl,
        reaper: NamespaceReaper,
    ) -> None:
        self.store = store
        self.namespaces = namespaces
        self.search_attributes = search_attributes
        self.access = access
        self.reaper = reaper

    async def put_namespace(self, spec: NamespaceSpec) -> dict[str, Any]:
        existing = await self.store.get_namespace(name=spec.namespace)
        current_id = existing.id if existing is not None and existing.state != DELETED else ""
        try:  # refused before anything is stored
            self.search_attributes.check(current_id, spec.namespace, spec.search_attributes)
        except SearchAttributeError as error:
            raise invalid("search_attributes", str(error)) from None
        record, created = await self.namespaces.provision(
            spec.namespace, description=spec.description, retention_seconds=spec.retention_days * DAY
        )
        try:
            await self.search_attributes.add(record.id, record.name, spec.search_attributes)
        except SearchAttributeError as error:  # changed meanwhile by OperatorService
            raise invalid("search_attributes", str(error)) from None
        auth = NamespaceAuth(
            namespace_id=record.id,
            account_id=spec.account_id,
            api_key_auth=spec.api_key_auth,
            mtls_ca_bundle_pem=spec.mtls.ca_bundle_pem if spec.mtls is not None else None,
            mtls_filters=json.dumps(list(spec.mtls.filters) if spec.mtls is not None else [], sort_keys=True),
        )
        if await self.store.get_namespace_auth(record.id) != auth:  # unchanged: no reload anywhere
            await self.store.put_namespace_auth(auth)
            await self.access.reload()
        return {"namespace": record.name, "namespace_uuid": record.id, "created": created}

    async def delete_namespace(self, name: str) -> dict[str, Any]:
        record = await self.namespaces.mark_deleted(name)
        if record is None:
            return {"deleted": False}
        await self.access.reload()
        self.reaper.reap(record.id)
        return {"deleted": True}

    async def rename_search_attribute(self, spec: RenameSpec) -> dict[str, Any]:
        ns = await self.namespaces.ref(spec.namespace)  # NOT_FOUND for an unknown or deleted namespace
        try:
            renamed = await self.search_attributes.rename(
                ns.id, ns.name, spec.old_name, spec.new_name, sa_type=spec.sa_type
            )
        except NotDefined as error:
            raise AdminError(grpc.StatusCode.NOT_FOUND, str(error)) from None
        except AlreadyExists as error:
            raise AdminError(grpc.StatusCode.ALREADY_EXISTS, str(error)) from None
        except SearchAttributeError as error:
            raise invalid("", str(error)) from None
        return {"renamed": renamed}

    async def sync_account_access(self, spec: AccountAccessSpec) -> dict[str, Any]:
        principals = [
            PrincipalRow(
                principal_id=p.principal_id,
                account_id=spec.account_id,
                kind=p.kind,
                name=p.name,
                account_admin=p.account_admin,
                grants=tuple((namespace, permission.label) for namespace, permission in sorted(p.grants.items())),
            )
            for p in spec.principals
        ]
        keys = [ApiKeyRow(k.key_id, k.principal_id, k.digest, k.expires_at, k.disabled) for k in spec.api_keys]
        try:
            await self.store.replace_account_access(spec.account_id, principals, keys)
        except AccessConflict as conflict:
            raise AdminError(grpc.StatusCode.FAILED_PRECONDITION, str(conflict)) from None
        await self.access.reload()
        return {"principals": len(principals), "api_keys": len(keys)}
