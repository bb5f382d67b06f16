"""Server-rendered account pages: thin function views, one module per area.

Every page under ``/a/<account_id>/`` resolves the caller with ``accounts.web.get_principal``
(a non-member gets 404), hides the controls ``accounts.permissions`` says the caller may not
use, calls one service per form and translates its errors in ``common.service_error_response``.
"""
