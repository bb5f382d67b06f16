"""Sundial's allauth adapter (``ACCOUNT_ADAPTER``).

One change to allauth's behaviour: once an address or an e-mail has used up its failed sign-in
attempts (``ACCOUNT_RATE_LIMITS["login_failed"]``), further attempts — even with the right
password — get allauth's rate-limit response (HTTP 429, ``templates/429.html``) instead of
the sign-in form again with a 200, so that clients, proxies and monitoring see the throttling.
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import ratelimit
from allauth.core.exceptions import ImmediateHttpResponse
from django import forms
from django.http import HttpRequest


class AccountAdapter(DefaultAccountAdapter):
    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        try:
            super().pre_authenticate(request, **credentials)
        except forms.ValidationError as exc:
            if getattr(exc, "code", None) == "too_many_login_attempts":
                raise ImmediateHttpResponse(ratelimit.respond_429(request)) from exc
            raise
