"""People and the organisations (accounts) they belong to.

The user model is custom from the first migration so that e-mail is the login and later
fields (MFA, SSO subject) need no user-model swap.
"""

from __future__ import annotations

import secrets
import string
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


class Account(models.Model):
    """An organisation: the tenant that owns namespaces, people, keys and invoices."""

    account_id = models.CharField(max_length=ACCOUNT_ID_LENGTH, unique=True, editable=False)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

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


class Membership(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "user"], name="one_membership_per_account")]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} as {self.role}"
