"""Entries are written in the transaction of the change they record, and hold no secrets."""

from __future__ import annotations

import json

import pytest
from django.core import mail
from django.db import IntegrityError

from accounts.errors import PermissionDenied
from accounts.models import ApiKey, Role, ServiceAccount
from accounts.principal import Principal
from accounts.services.api_keys import do_create_api_key
from accounts.services.invitations import do_invite_user
from accounts.services.service_accounts import do_create_service_account
from audit.models import AuditChain, AuditEntry
from audit.services import audited
from audit.verify import verify_log
from tests.accounts.conftest import in_days

pytestmark = pytest.mark.django_db


def everything_logged() -> str:
    return json.dumps([list(row) for row in AuditEntry.objects.values_list()], default=str)


def test_a_change_that_fails_leaves_no_ok_entry_and_no_trace(alice: Principal) -> None:
    code = alice.account.account_id
    head = AuditChain.objects.get(account_code=code)
    entries = AuditEntry.objects.count()

    def create_twins() -> None:
        with audited(alice, "CreateServiceAccount", target_type="service_account"):
            ServiceAccount.objects.create(account=alice.account, name="twin", role=Role.READ_ONLY)
            ServiceAccount.objects.create(account=alice.account, name="twin", role=Role.READ_ONLY)

    with pytest.raises(IntegrityError):
        create_twins()

    assert not ServiceAccount.objects.filter(name="twin").exists()
    assert AuditEntry.objects.count() == entries
    after = AuditChain.objects.get(account_code=code)
    assert (after.last_seq, after.last_hash) == (head.last_seq, head.last_hash)
    assert verify_log().intact


def test_a_refused_change_is_rolled_back_and_recorded_as_an_error(alice: Principal, bob: Principal) -> None:
    with pytest.raises(PermissionDenied):
        do_create_service_account(bob, name="sneaky", role=Role.OWNER)

    assert not ServiceAccount.objects.filter(name="sneaky").exists()
    entry = AuditEntry.objects.filter(account_code=alice.account.account_id).latest("seq")
    assert (entry.operation, entry.status, entry.principal_name) == ("CreateServiceAccount", "ERROR", "bob@example.com")
    assert entry.error
    assert verify_log().intact


def test_an_api_key_token_is_nowhere_in_the_log(alice: Principal) -> None:
    key, token = do_create_api_key(alice, display_name="laptop", expires_at=in_days(30))
    secret = token.split("_", 2)[2]
    assert len(secret) >= 32

    logged = everything_logged()

    assert AuditEntry.objects.filter(operation="CreateAPIKey", target_id=key.key_id).exists()
    assert token not in logged
    assert secret not in logged
    assert ApiKey.objects.get(pk=key.pk).digest not in logged


def test_a_key_acting_is_named_in_its_entries(alice: Principal) -> None:
    from accounts.principal import principal_for_api_key

    key, token = do_create_api_key(alice, display_name="laptop", expires_at=in_days(30))
    through_key = principal_for_api_key(token, client_ip="192.0.2.7", api_version="2024-10-01-00")

    do_create_service_account(through_key, name="made-by-key", role=Role.READ_ONLY)

    entry = AuditEntry.objects.filter(account_code=alice.account.account_id).latest("seq")
    assert (entry.principal_name, entry.api_key_id, entry.client_ip) == ("alice@example.com", key.key_id, "192.0.2.7")
    assert entry.details["api_version"] == "2024-10-01-00"
    assert token not in everything_logged()


def test_an_invitation_link_is_nowhere_in_the_log(alice: Principal, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        do_invite_user(alice, email="dora@example.com", role=Role.DEVELOPER)
    link_token = str(mail.outbox[-1].body).split("/invitations/", 1)[1].split("/", 1)[0]
    assert link_token not in everything_logged()


def test_a_stored_entry_can_be_neither_changed_nor_deleted_through_the_model(alice) -> None:
    from audit.models import AuditEntry

    entry = AuditEntry.objects.filter(account_code=alice.account.account_id).first()
    assert entry is not None
    entry.operation = "Forged"
    with pytest.raises(PermissionError, match="append-only"):
        entry.save()
    with pytest.raises(PermissionError, match="retention"):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).operation == "CreateAccount"
