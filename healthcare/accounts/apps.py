from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-in: token lifecycle (rotation, logout, revocation) and limits on guessing."""

    name = "healthcare.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_logged_in, user_login_failed
        from django.db.models.signals import post_save, pre_save

        from healthcare.accounts import receivers

        user_logged_in.connect(receivers.sign_in_audit, dispatch_uid="accounts.sign_in_audit")
        user_login_failed.connect(receivers.sign_in_failure_audit, dispatch_uid="accounts.sign_in_failure_audit")
        User = get_user_model()
        pre_save.connect(receivers.credentials_remember, sender=User, dispatch_uid="accounts.credentials_remember")
        post_save.connect(receivers.tokens_revoke_on_change, sender=User, dispatch_uid="accounts.tokens_revoke")
