"""Alice, Bob and Charlie from the accounts tests, and a log with some history in it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.models import Role
from accounts.principal import Principal
from accounts.services.accounts import do_update_account
from accounts.services.api_keys import do_create_api_key
from accounts.services.service_accounts import do_create_service_account
from audit.models import AuditEntry
from tests.accounts.conftest import *  # noqa: F403
from tests.accounts.conftest import in_days


@pytest.fixture
def history(alice: Principal, bob: Principal, charlie: Principal) -> Callable[[], list[AuditEntry]]:
    """Changes in Alice's account (by Alice and Bob) and in Charlie's; returns Alice's entries, oldest first."""
    sa = do_create_service_account(alice, name="deployer", role=Role.DEVELOPER)
    do_create_api_key(
        alice, display_name="ci", expires_at=in_days(30), owner_type="service_account", owner_id=sa.public_id
    )
    do_create_api_key(bob, display_name="bob's laptop", expires_at=in_days(30))
    do_update_account(alice, name="Alice Company")
    do_create_service_account(charlie, name="charlie-bot")

    def alice_entries() -> list[AuditEntry]:
        return list(AuditEntry.objects.filter(account_code=alice.account.account_id).order_by("seq"))

    return alice_entries


@pytest.fixture
def read_only(add_member: Callable[..., Principal]) -> Principal:
    return add_member("rita@example.com", Role.READ_ONLY)
