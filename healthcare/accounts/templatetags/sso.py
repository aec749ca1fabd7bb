"""The single sign-on button of the sign-in pages (the product's and the admin's)."""

from urllib.parse import urlencode

from django import template
from django.conf import settings
from django.urls import reverse

register = template.Library()


@register.simple_tag(takes_context=True)
def sso_sign_in(context) -> dict | None:
    """{"url", "label"} of the provider's sign-in, carrying the page's `next`; None while single sign-on is off."""
    if not settings.OIDC_RP_CLIENT_ID:
        return None
    url = reverse("oidc_authentication_init")
    if context.get("next"):
        url = f"{url}?{urlencode({'next': context['next']})}"
    return {"url": url, "label": settings.OIDC_BUTTON_LABEL}
