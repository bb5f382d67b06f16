"""Saved views of the workflows list: reads (``saved_view_*``) and the audited writes
(``do_*_saved_view``).

A view belongs to one person in one namespace. Anyone who may read the namespace may open it by
its id (that is how it is shared); a view of another namespace, or of another account, is not
found. Only its owner renames or deletes it.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db.models import QuerySet

from accounts.errors import InvalidInput, NotFound, PermissionDenied
from accounts.models import User
from accounts.principal import Principal
from audit.services import audited
from console.models import MAX_VIEWS_PER_OWNER, NAME_MAX_LENGTH, SavedView
from namespaces.models import Namespace

TARGET_TYPE = "saved_view"
# The list parameters a view keeps: query-string name → model field.
PARAMETERS = {"query": "query", "status": "status", "type": "workflow_type", "range": "range", "cols": "cols"}


def _owner(principal: Principal) -> User:
    if principal.user is None:
        raise PermissionDenied("only people save views of the workflows list")
    return principal.user


def saved_view_list(*, principal: Principal, namespace: Namespace) -> QuerySet[SavedView]:
    """The caller's own views of the namespace, by name."""
    if principal.user is None:
        return SavedView.objects.none()
    return SavedView.objects.filter(namespace=namespace, owner=principal.user)


def saved_view_get(*, namespace: Namespace, view_id: str) -> SavedView:
    """A view of this namespace by its id (whoever owns it); NotFound for anything else."""
    view = SavedView.objects.select_related("owner").filter(namespace=namespace, public_id=view_id).first()
    if view is None:
        raise NotFound("saved view not found")
    return view


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("a saved view needs a name")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(f"a saved view's name is at most {NAME_MAX_LENGTH} characters")
    return name


def _check_unique(namespace: Namespace, owner: User, name: str, *, other_than: int | None = None) -> None:
    taken = SavedView.objects.filter(namespace=namespace, owner=owner, name=name)
    if other_than is not None:
        taken = taken.exclude(pk=other_than)
    if taken.exists():
        raise InvalidInput(f"you already have a view named {name!r} in this namespace")


def do_create_saved_view(
    principal: Principal, *, namespace: Namespace, name: str, parameters: Mapping[str, str]
) -> SavedView:
    """Save ``parameters`` (the list's query string: query, status, type, range, cols) as the
    caller's view ``name``."""
    with audited(
        principal, "CreateSavedView", target_type=TARGET_TYPE, details={"namespace": namespace.name, "name": name}
    ) as audit:
        owner = _owner(principal)
        name = _clean_name(name)
        _check_unique(namespace, owner, name)
        if SavedView.objects.filter(namespace=namespace, owner=owner).count() >= MAX_VIEWS_PER_OWNER:
            raise InvalidInput(
                f"you have {MAX_VIEWS_PER_OWNER} saved views in this namespace, the most there may be: delete one first"
            )
        fields = {field: str(parameters.get(key) or "") for key, field in PARAMETERS.items()}
        view = SavedView.objects.create(namespace=namespace, owner=owner, name=name, **fields)
        audit["target_id"] = view.public_id
    return view


def _owned(principal: Principal, namespace: Namespace, view_id: str) -> SavedView:
    view = saved_view_get(namespace=namespace, view_id=view_id)
    if principal.user is None or view.owner_id != principal.user.pk:
        raise PermissionDenied("only the owner of a saved view may change or delete it")
    return view


def do_rename_saved_view(principal: Principal, *, namespace: Namespace, view_id: str, name: str) -> SavedView:
    with audited(
        principal,
        "RenameSavedView",
        target_type=TARGET_TYPE,
        target_id=view_id,
        details={"namespace": namespace.name, "name": name},
    ) as audit:
        view = _owned(principal, namespace, view_id)
        name = _clean_name(name)
        _check_unique(namespace, view.owner, name, other_than=view.pk)
        audit["details"]["previous_name"] = view.name
        view.name = name
        view.save(update_fields=["name", "updated_at"])
    return view


def do_delete_saved_view(principal: Principal, *, namespace: Namespace, view_id: str) -> None:
    with audited(
        principal, "DeleteSavedView", target_type=TARGET_TYPE, target_id=view_id, details={"namespace": namespace.name}
    ) as audit:
        view = _owned(principal, namespace, view_id)
        audit["details"]["name"] = view.name
        view.delete()
