"""Token lifecycle: revoke a user's refresh tokens (logout everywhere, password change, deactivation)."""

from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken


def user_tokens_revoke(*, user) -> int:
    """Blacklist every refresh token issued to `user` that is not blacklisted yet. Returns how many.

    Access tokens are short-lived (JWT_ACCESS_MINUTES) and carry a digest of the password,
    so a password change also rejects them at once; deactivation rejects them at once too.
    """
    outstanding = OutstandingToken.objects.filter(user=user).exclude(blacklistedtoken__isnull=False)
    revoked = [BlacklistedToken(token=token) for token in outstanding]
    BlacklistedToken.objects.bulk_create(revoked, ignore_conflicts=True)
    return len(revoked)
