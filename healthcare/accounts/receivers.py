"""A changed password or a deactivated account ends every token of that user."""

from django.db import transaction

from healthcare.accounts.services import user_tokens_revoke


def credentials_remember(sender, instance, **kwargs) -> None:
    """Before a user is saved: note whether the password or the active flag is changing."""
    if instance.pk is None:
        instance._credentials_changed = False
        return
    stored = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    instance._credentials_changed = stored is not None and (
        stored["password"] != instance.password or (stored["is_active"] and not instance.is_active)
    )


def tokens_revoke_on_change(sender, instance, created, **kwargs) -> None:
    """After the save commits: revoke the user's refresh tokens if the credentials changed."""
    if not created and getattr(instance, "_credentials_changed", False):
        transaction.on_commit(lambda: user_tokens_revoke(user=instance))
