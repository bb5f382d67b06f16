"""Create (once) a demo account with an owner, and print how to sign in."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import Account, User
from accounts.services import do_create_account

DEMO_EMAIL = "owner@demo.sundial.localhost"
DEMO_ACCOUNT_NAME = "Demo"


class Command(BaseCommand):
    help = "Create a demo account with an Account Owner and print the e-mail and password."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset-password", action="store_true", help="give the demo owner a new password")

    def handle(self, *args: Any, reset_password: bool = False, **options: Any) -> None:
        secret_file = settings.DATA_DIR / "demo-login.txt"
        with transaction.atomic():
            user = User.objects.filter(email=DEMO_EMAIL).first()
            password: str | None = None
            if user is None:
                password = secrets.token_urlsafe(12)
                user = User.objects.create_user(DEMO_EMAIL, password, first_name="Demo", last_name="Owner")
                self._verify_email(user)
            elif reset_password:
                password = secrets.token_urlsafe(12)
                user.set_password(password)
                user.save(update_fields=["password"])
            if not Account.objects.filter(memberships__user=user).exists():
                do_create_account(owner=user, name=DEMO_ACCOUNT_NAME)
        if password is not None:
            secret_file.write_text(password + "\n")
            secret_file.chmod(0o600)
        elif secret_file.exists():
            password = secret_file.read_text().strip()
        account = Account.objects.filter(memberships__user=user).order_by("id").first()
        self.stdout.write(f"demo account: {account}")
        self.stdout.write(f"  e-mail:   {DEMO_EMAIL}")
        if password is not None:
            self.stdout.write(f"  password: {password}")
        else:
            self.stdout.write(
                "  password: (changed since; `sundial manage demo_account --reset-password` sets a new one)"
            )

    @staticmethod
    def _verify_email(user: User) -> None:
        from allauth.account.models import EmailAddress

        EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
