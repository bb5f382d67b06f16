from __future__ import annotations

import pytest

from accounts.errors import NotFound, PermissionDenied
from accounts.models import Role
from accounts.principal import principal_for_api_key
from accounts.services.api_keys import do_create_api_key
from accounts.services.invitations import do_invite_user
from audit.models import AuditEntry
from tests.accounts.conftest import in_days


def test_smoke(alice, bob, charlie, django_capture_on_commit_callbacks, mailoutbox):
    key, token = do_create_api_key(alice, display_name="ci", expires_at=in_days(30))
    p = principal_for_api_key(token)
    assert p.account == alice.account and p.api_key == key
    with django_capture_on_commit_callbacks(execute=True):
        do_invite_user(alice, email="dora@example.com", role=Role.READ_ONLY)
    assert len(mailoutbox) == 1
    with pytest.raises(PermissionDenied):
        do_invite_user(bob, email="eve@example.com", role=Role.READ_ONLY)
    with pytest.raises(NotFound):
        do_create_api_key(charlie, display_name="x", expires_at=in_days(3), owner_type="user", owner_id=bob.public_id)
    ops = list(AuditEntry.objects.filter(account_code=alice.account.account_id).values_list("operation", "status"))
    assert ops == [("CreateAccount", "OK"), ("CreateAPIKey", "OK"), ("InviteUsers", "OK"), ("InviteUsers", "ERROR")]
