"""A namespace's codec server as the pages' decoding script needs it (Temporal's UI calls the
codec server from the browser, so payloads never pass through Sundial decoded)."""

from __future__ import annotations

from typing import Any

from namespaces.models import Namespace


def codec_context(namespace: Namespace) -> dict[str, Any] | None:
    """What the page's codec script needs, or None without a codec server."""
    if not namespace.codec_endpoint:
        return None
    return {
        "endpoint": namespace.codec_endpoint.rstrip("/"),
        "namespace_id": namespace.namespace_id,
        "include_credentials": namespace.codec_include_cross_origin_credentials,
        "pass_access_token": namespace.codec_pass_access_token,
    }
