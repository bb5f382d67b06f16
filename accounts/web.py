"""What every page needs: the caller as a ``Principal`` of the account in the URL, and the
translation of service errors into responses.

Pages live under ``/a/<account_id>/…``; ``get_principal`` turns a non-member's request into a
404 (never a 403), so one tenant cannot learn that another's objects exist.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest

from accounts.errors import NotFound
from accounts.principal import Principal, principal_for_user

# The account a signed-in user last worked in; the home page sends them back there.
SESSION_ACCOUNT_KEY = "sundial_account_id"
# The token of the invitation a signed-out visitor opened: sign-up then joins that account
# instead of creating an organisation, and the home page sends them back to accept it.
SESSION_INVITATION_KEY = "sundial_invitation_token"


def client_ip(request: HttpRequest) -> str:
    """The caller's address as the server saw it (daphne's --proxy-headers already apply
    X-Forwarded-For from a trusted proxy to REMOTE_ADDR)."""
    return str(request.META.get("REMOTE_ADDR", ""))


def get_principal(request: HttpRequest, account_id: str) -> Principal:
    try:
        principal = principal_for_user(request.user, account_id, client_ip=client_ip(request))  # type: ignore[arg-type]
    except NotFound:
        raise Http404("account not found") from None
    if hasattr(request, "session"):
        request.session[SESSION_ACCOUNT_KEY] = account_id
    return principal
