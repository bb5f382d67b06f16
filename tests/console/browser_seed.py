"""Seed the web app of a browser test (run as ``python -m tests.console.browser_seed`` with the
web app's environment): an account with namespace ``shop`` provisioned on the engine, a
Developer holding only Read on it, and the owner of another account. Prints JSON.

It runs in its own process because the web app under test is a separate process with its own
database; Celery runs eagerly here (``CELERY_TASK_ALWAYS_EAGER``), so creating the namespace
provisions it on the engine before the script ends.
"""

from __future__ import annotations

import json
import os
import secrets


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloud.settings")
    django.setup()

    from allauth.account.models import EmailAddress

    from accounts.models import Membership, Role, User
    from accounts.principal import principal_for_membership
    from accounts.services import do_create_account
    from accounts.services.members import do_set_member_namespace_access
    from namespaces.models import Namespace, NamespaceState
    from namespaces.services import do_create_namespace

    def person(email: str) -> tuple[User, str]:
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(email, password)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user, password

    owner, owner_password = person("owner@shop.localhost")
    account = do_create_account(owner=owner, name="Shop Co")
    alice = principal_for_membership(Membership.objects.get(account=account, user=owner))
    do_create_namespace(alice, name="shop")
    reader, reader_password = person("reader@shop.localhost")
    membership = Membership.objects.create(account=account, user=reader, role=Role.DEVELOPER)
    do_set_member_namespace_access(alice, member_id=membership.public_id, namespace="shop", permission="read")
    outsider, outsider_password = person("outsider@other.localhost")
    do_create_account(owner=outsider, name="Other Ltd")

    namespace = Namespace.objects.get(account=account, name="shop")
    if namespace.state != NamespaceState.ACTIVE:
        raise SystemExit(f"namespace shop is {namespace.state}: {namespace.last_error}")
    print(
        json.dumps(
            {
                "account_id": account.account_id,
                "namespace_id": namespace.namespace_id,
                "owner": [owner.email, owner_password],
                "reader": [reader.email, reader_password],
                "outsider": [outsider.email, outsider_password],
            }
        )
    )


if __name__ == "__main__":
    main()
