"""Tenant access: API-key authentication and per-namespace authorization (non-dev mode), and the
admin API through which the control plane provisions namespaces and access."""
