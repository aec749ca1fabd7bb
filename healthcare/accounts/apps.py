from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-in: token lifecycle (rotation, logout, revocation) and limits on guessing."""

    name = "healthcare.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save, pre_save

        from healthcare.accounts import receivers

        User = get_user_model()
        pre_save.connect(receivers.credentials_remember, sender=User, dispatch_uid="accounts.credentials_remember")
        post_save.connect(receivers.tokens_revoke_on_change, sender=User, dispatch_uid="accounts.tokens_revoke")
