from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Sign-in: token lifecycle (rotation, logout, revocation) and limits on guessing."""

    name = "healthcare.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group, Permission
        from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

        from healthcare.accounts import backends, receivers

        User = get_user_model()
        pre_save.connect(receivers.credentials_remember, sender=User, dispatch_uid="accounts.credentials_remember")
        post_save.connect(receivers.tokens_revoke_on_change, sender=User, dispatch_uid="accounts.tokens_revoke")

        # Cached permission sets (backends.py) are forgotten whenever what they are made of changes:
        # users' groups, users' or groups' permissions added or removed, roles and permissions saved.
        for through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
            m2m_changed.connect(
                backends.permissions_generation.replace_on_m2m_change,
                sender=through,
                dispatch_uid=f"accounts.{through.__name__}",
            )
        for model in (Group, Permission):
            for signal in (post_save, post_delete):
                signal.connect(backends.permissions_changed, sender=model, dispatch_uid=f"accounts.{model.__name__}")
        post_save.connect(backends.user_created, sender=User, dispatch_uid="accounts.user_created")
