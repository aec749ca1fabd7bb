"""Signals of sign-in over the API, beside Django's user_logged_in and user_login_failed (sessions)."""

from django.dispatch import Signal

# A token pair was issued for a user name and password. Arguments: request, user. Sent at once
# (the audit trail records it).
token_issued = Signal()
