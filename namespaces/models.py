"""Namespaces: the units of isolation an account runs workflows in, provisioned on the engine.

Fields follow Temporal Cloud's ``NamespaceSpec`` (``../shared/reference/temporal-cloud.md`` §1.1):
retention, API-key access, the accepted client CA bundle and certificate filters (mTLS),
custom search attributes, the codec server, deletion protection and tags. The name is
immutable; the namespace id that SDKs use is ``<name>.<account id>``.

``state`` is Temporal Cloud's ``ResourceState``. A change sets it to ACTIVATING, UPDATING or
DELETING and queues the provisioning task, which brings the engine to the row's state and
then sets ACTIVE (or removes the row, for a delete) or the matching ``*_FAILED`` state.

A deleted namespace's row is removed once the engine confirms the deletion (it is never kept
in state DELETED): the name becomes free again, the namespace grants naming it are removed
with it (a namespace created later under the same name must not inherit old permissions),
and the history stays where it belongs, in the audit log (keyed by account id, it outlives
the row) and in the finished async operation.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts.models import Account, AsyncOperation, User

DEFAULT_RETENTION_DAYS = 30


class NamespaceState(models.TextChoices):
    """Temporal Cloud's ``ResourceState`` values that a namespace goes through."""

    ACTIVATING = "activating", "Activating"
    ACTIVATION_FAILED = "activation_failed", "Activation failed"
    ACTIVE = "active", "Active"
    UPDATING = "updating", "Updating"
    UPDATE_FAILED = "update_failed", "Update failed"
    DELETING = "deleting", "Deleting"
    DELETE_FAILED = "delete_failed", "Delete failed"
    DELETED = "deleted", "Deleted"


# States in which a provisioning task has work to do (and the namespace accepts no other change).
PENDING_STATES = frozenset({NamespaceState.ACTIVATING, NamespaceState.UPDATING, NamespaceState.DELETING})
# What a pending state becomes when the engine refuses the change.
FAILED_STATE = {
    NamespaceState.ACTIVATING: NamespaceState.ACTIVATION_FAILED,
    NamespaceState.UPDATING: NamespaceState.UPDATE_FAILED,
    NamespaceState.DELETING: NamespaceState.DELETE_FAILED,
}


class Namespace(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="namespaces")
    name = models.CharField(max_length=39, editable=False)
    retention_days = models.PositiveSmallIntegerField(default=DEFAULT_RETENTION_DAYS)
    api_key_auth = models.BooleanField(default=True)
    # mTLS: on when a CA bundle is set. Filters: [{common_name, organization, organizational_unit,
    # subject_alternative_name}], all four keys present, "" meaning "any".
    ca_bundle_pem = models.TextField(blank=True)
    cert_filters = models.JSONField(default=list, blank=True)
    # Custom search attributes: {name: type label ("Keyword", "Int", …)}; and those the engine has
    # confirmed, whose types are fixed from then on (a refused change may still be corrected).
    search_attributes = models.JSONField(default=dict, blank=True)
    provisioned_search_attributes = models.JSONField(default=dict, blank=True)
    codec_endpoint = models.CharField(max_length=2048, blank=True)
    codec_pass_access_token = models.BooleanField(default=False)
    codec_include_cross_origin_credentials = models.BooleanField(default=False)
    deletion_protection = models.BooleanField(default=False)
    tags = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=32, choices=NamespaceState.choices, default=NamespaceState.ACTIVATING)
    resource_version = models.PositiveBigIntegerField(default=1)
    # The async operation the next successful provisioning finishes (Cloud Ops' async_operation_id).
    async_operation = models.ForeignKey(
        AsyncOperation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Why the last provisioning attempt did not succeed ("" after a success).
    last_error = models.CharField(max_length=1000, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="unique_namespace_name_per_account")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.namespace_id

    @property
    def namespace_id(self) -> str:
        """What SDKs and the Cloud Ops API call the namespace: ``<name>.<account id>``."""
        return f"{self.name}.{self.account.account_id}"

    @property
    def mtls_enabled(self) -> bool:
        return bool(self.ca_bundle_pem.strip())

    @property
    def codec_server(self) -> dict[str, Any]:
        return {
            "endpoint": self.codec_endpoint,
            "pass_access_token": self.codec_pass_access_token,
            "include_cross_origin_credentials": self.codec_include_cross_origin_credentials,
        }


class EngineCleanup(models.Model):
    """What the engine must still drop for a deleted account (an outbox row, written in the
    account's deletion transaction): its namespaces, by namespace id, and its access (keys and
    principals). ``namespaces.tasks.cleanup_deleted_account`` does it and then removes the row;
    the periodic sweep re-queues a row that is still here after a grace period."""

    account_id = models.CharField(max_length=16)
    namespace_ids = models.JSONField(default=list, blank=True)
    # Why the last attempt did not finish ("" before the first attempt).
    last_error = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"engine cleanup of account {self.account_id} ({len(self.namespace_ids)} namespaces)"
