"""People and the organisations (accounts) they belong to, and the machine identities they own.

The user model is custom from the first migration so that e-mail is the login and later
fields (MFA, SSO subject) need no user-model swap. Every object an API names has a public id
(``public_id``, a UUID hex) so that URLs and the Cloud Ops API never expose row numbers.
Mutable objects carry ``resource_version``: the Cloud Ops API's optimistic-concurrency token.
"""

from __future__ import annotations

import secrets
import string
import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("an e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField("e-mail address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()  # type: ignore[assignment]

    def __str__(self) -> str:
        return self.email


ACCOUNT_ID_ALPHABET = string.ascii_lowercase + string.digits
ACCOUNT_ID_LENGTH = 5


def new_account_id() -> str:
    """A short random account id, as Temporal Cloud uses (5 lowercase letters or digits)."""
    return "".join(secrets.choice(ACCOUNT_ID_ALPHABET) for _ in range(ACCOUNT_ID_LENGTH))


def new_public_id() -> str:
    return uuid.uuid4().hex


DEFAULT_AUDIT_RETENTION_DAYS = 365
MIN_AUDIT_RETENTION_DAYS = 30
MAX_AUDIT_RETENTION_DAYS = 3650


class Account(models.Model):
    """An organisation: the tenant that owns namespaces, people, keys and invoices."""

    account_id = models.CharField(max_length=ACCOUNT_ID_LENGTH, unique=True, editable=False)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resource_version = models.PositiveBigIntegerField(default=1)
    # Temporal Cloud's "Disable Create API Keys": existing keys keep working.
    api_key_creation_enabled = models.BooleanField(default=True)
    audit_retention_days = models.PositiveIntegerField(default=DEFAULT_AUDIT_RETENTION_DAYS)
    # Bumped (in the same transaction) by every change of who may do what in the account
    # (``accounts.services.common.access_changed``), and the highest bump the engine has confirmed
    # (``namespaces.provisioning.sync_access``): while they differ, the sweep re-queues the sync.
    access_version = models.PositiveBigIntegerField(default=0)
    access_synced_version = models.PositiveBigIntegerField(default=0)

    class Meta:
        indexes = [
            # Only the accounts the engine is behind on: the sweep's query reads this small index.
            models.Index(
                fields=["account_id"],
                condition=models.Q(access_synced_version__lt=models.F("access_version")),
                name="account_access_unsynced",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.account_id})"


class Role(models.TextChoices):
    """Temporal Cloud's account-level roles."""

    OWNER = "owner", "Account Owner"
    GLOBAL_ADMIN = "global_admin", "Global Admin"
    DEVELOPER = "developer", "Developer"
    FINANCE_ADMIN = "finance_admin", "Finance Admin"
    READ_ONLY = "read_only", "Read-Only"
    METRICS_READ_ONLY = "metrics_read_only", "Metrics Read-Only"


class NamespacePermission(models.TextChoices):
    """Temporal Cloud's namespace-level permissions, strongest first."""

    ADMIN = "admin", "Admin"
    WRITE = "write", "Write"
    READ = "read", "Read"


class Membership(models.Model):
    """A user in an account. ``public_id`` is the Cloud Ops API's user id within the account
    (it is the id of the invitation the membership came from, so it survives acceptance)."""

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resource_version = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "user"], name="one_membership_per_account")]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} as {self.role}"


class Invitation(models.Model):
    """An e-mailed invitation to join an account with a role. The link carries a secret whose
    HMAC digest is stored; accepting creates the membership (with this invitation's id)."""

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=32, choices=Role.choices)
    # {namespace: permission} granted on acceptance (Cloud Ops UserSpec.access.namespace_accesses).
    namespace_accesses = models.JSONField(default=dict, blank=True)
    token_digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    resource_version = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            )
        ]

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.account} as {self.role}"


class ServiceAccount(models.Model):
    """A machine identity of an account. With ``namespace_scope`` set it is namespace-scoped:
    account role Read-Only plus exactly one namespace permission (Temporal Cloud's model)."""

    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="service_accounts")
    name = models.CharField(max_length=200)
    description = models.CharField(max_length=1000, blank=True)
    role = models.CharField(max_length=32, choices=Role.choices)
    namespace_scope = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resource_version = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="unique_service_account_name")]

    def __str__(self) -> str:
        return f"service account {self.name} of {self.account}"


class NamespaceGrant(models.Model):
    """One principal's permission on one namespace (by namespace name within the account)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="namespace_grants")
    namespace = models.CharField(max_length=255)
    permission = models.CharField(max_length=16, choices=NamespacePermission.choices)
    membership = models.ForeignKey(Membership, null=True, blank=True, on_delete=models.CASCADE, related_name="grants")
    service_account = models.ForeignKey(
        ServiceAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="grants"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(membership__isnull=False, service_account__isnull=True)
                | models.Q(membership__isnull=True, service_account__isnull=False),
                name="grant_has_one_principal",
            ),
            models.UniqueConstraint(fields=["membership", "namespace"], name="one_grant_per_member_namespace"),
            models.UniqueConstraint(fields=["service_account", "namespace"], name="one_grant_per_sa_namespace"),
        ]

    def __str__(self) -> str:
        return f"{self.permission} on {self.namespace}"


class ApiKey(models.Model):
    """A bearer secret acting with its owner's permissions. Only an HMAC-SHA256 digest of the
    secret is stored; ``key_id`` is public and is part of the token (``sdl_<key_id>_<secret>``)."""

    key_id = models.CharField(max_length=32, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    owner_membership = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    owner_service_account = models.ForeignKey(
        ServiceAccount, null=True, blank=True, on_delete=models.CASCADE, related_name="api_keys"
    )
    display_name = models.CharField(max_length=200)
    description = models.CharField(max_length=1000, blank=True)
    digest = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    disabled = models.BooleanField(default=False)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    resource_version = models.PositiveBigIntegerField(default=1)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(owner_membership__isnull=False, owner_service_account__isnull=True)
                | models.Q(owner_membership__isnull=True, owner_service_account__isnull=False),
                name="api_key_has_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"API key {self.key_id} ({self.display_name})"


class OperationState(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    FULFILLED = "fulfilled", "Fulfilled"
    REJECTED = "rejected", "Rejected"


class AsyncOperation(models.Model):
    """A mutating Cloud Ops / REST request, kept for ``GetAsyncOperation`` and for idempotency:
    a request repeating an ``async_operation_id`` gets the first request's outcome."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="operations")
    operation_id = models.CharField(max_length=64)
    operation_type = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=OperationState.choices, default=OperationState.PENDING)
    input = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    failure_reason = models.CharField(max_length=1000, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "operation_id"], name="unique_operation_id_per_account")
        ]

    def __str__(self) -> str:
        return f"{self.operation_type} {self.operation_id} ({self.state})"
