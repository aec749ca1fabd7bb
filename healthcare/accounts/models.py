from django.conf import settings
from django.db import models


class OidcIdentity(models.Model):
    """A user's account at an OpenID Connect provider: the provider (issuer) and its stable id for them (sub).

    Single sign-on finds the user by this pair, never by e-mail address or user name, which change
    and are reused; a local account of the same name is never taken over.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities")
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255, help_text="The provider's `sub` claim.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "OpenID Connect identity"
        verbose_name_plural = "OpenID Connect identities"
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="oidcidentity_issuer_subject_unique")]

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
