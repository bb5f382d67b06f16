"""Writes on accounts, people, service accounts and keys: one function per business action.

Each ``do_<verb>_<noun>`` checks the caller's permission (``accounts.permissions``), changes
rows and writes the audit entry in one transaction. Views, the REST API, the Cloud Ops gRPC
API and commands all call these.
"""

from accounts.services.accounts import do_create_account

__all__ = ["do_create_account"]
