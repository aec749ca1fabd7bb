"""Signals of sign-in, beside Django's user_logged_in and user_login_failed (sessions)."""

from django.dispatch import Signal

# A token pair was issued for a user name and password. Arguments: request, user. Sent at once
# (the audit trail records it).
token_issued = Signal()

# A single sign-on stated which departments a user works in (department codes; empty when the
# provider names none, or the user was refused). Arguments: user, codes. Sent inside the sign-in's
# transaction, so their departments and roles change together: healthcare.encounters makes the
# user a member of exactly these departments.
departments_claimed = Signal()
