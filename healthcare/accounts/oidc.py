"""Single sign-on with the hospital's OpenID Connect provider, through mozilla-django-oidc.

The library runs the authorization code flow (state, nonce, PKCE) and verifies the ID token's
signature against the provider's keys. This module adds what it leaves to its users: the
provider's endpoints from its discovery document, the ID token's issuer and audience checks,
users found by (issuer, sub) with roles and departments from the claims (services.identity_sign_in),
and logout at the provider (RP-initiated logout). Local accounts keep working beside it, also
while the provider is down: nothing here is fetched until a single sign-on needs it.
"""

import logging
from functools import cache
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationRequestView

from healthcare.accounts.services import SignInRefused, identity_sign_in

logger = logging.getLogger(__name__)

DISCOVERY_PATH = "/.well-known/openid-configuration"
# Setting -> the discovery document's field that gives it when the setting is empty.
DISCOVERED = {
    "OIDC_OP_ISSUER": "issuer",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_LOGOUT_ENDPOINT": "end_session_endpoint",
}
UNAVAILABLE = (
    "The hospital sign-in service is not answering. Try again in a minute; in an emergency, "
    "sign in with a local account."
)


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read."""


def sso_enabled() -> bool:
    return bool(settings.OIDC_RP_CLIENT_ID)


@cache
def _discovery_document(url: str) -> dict:
    """The provider's metadata, read once per process and URL (a failure is not remembered)."""
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"{url}: {exc}") from exc
    if not isinstance(document, dict) or not document.get("issuer"):
        raise ProviderUnavailable(f"{url}: not an OpenID Connect discovery document")
    return document


def provider_setting(name: str) -> str:
    """The issuer or an endpoint: the setting when it is set, else from the discovery document."""
    value = getattr(settings, name, "")
    if value or not settings.OIDC_OP_DISCOVERY:
        return value
    url = settings.OIDC_OP_DISCOVERY
    if not url.endswith(DISCOVERY_PATH):
        url = url.rstrip("/") + DISCOVERY_PATH
    return _discovery_document(url).get(DISCOVERED[name], "")


class OidcBackend(OIDCAuthenticationBackend):
    """Signs in a provider account: the callback's code is exchanged for tokens, the ID token is
    verified, and services.identity_sign_in gives the user whose roles and departments the claims
    say. Permissions come from CachedPermissionsBackend like every user's."""

    def __init__(self, *args, **kwargs):
        # Not the parent's, which reads the endpoints: Django builds this backend for every password
        # sign-in and every request of a single sign-on session. They are read when a sign-in needs them.
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None

    # The parent's attribute names, read at the moment of use.
    @property
    def OIDC_OP_TOKEN_ENDPOINT(self) -> str:
        return provider_setting("OIDC_OP_TOKEN_ENDPOINT")

    @property
    def OIDC_OP_USER_ENDPOINT(self) -> str:
        return provider_setting("OIDC_OP_USER_ENDPOINT")

    @property
    def OIDC_OP_JWKS_ENDPOINT(self) -> str:
        return provider_setting("OIDC_OP_JWKS_ENDPOINT")

    def authenticate(self, request, **kwargs):
        # Only the callback's call, which passes the nonce; a password form's never reaches the provider.
        if request is None or "nonce" not in kwargs or not sso_enabled():
            return None
        try:
            return super().authenticate(request, **kwargs)
        except (ProviderUnavailable, requests.RequestException) as exc:
            logger.warning("single sign-on failed, the provider did not answer: %s", exc)
            messages.error(request, UNAVAILABLE)
            return None

    def verify_token(self, token, **kwargs):
        """The library checks the signature, expiry and nonce; the issuer and audience are checked here
        (OpenID Connect Core 3.1.3.7): a token the provider issued for another client is refused."""
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if payload.get("iss") != provider_setting("OIDC_OP_ISSUER"):
            raise SuspiciousOperation("ID token of another issuer")
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token for another client")
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("ID token authorized for another client")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims, with the userinfo endpoint's when the provider has one (some put the
        groups in one, some in the other). Userinfo about another subject is refused."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = super().get_userinfo(access_token, id_token, payload)
            if userinfo.get("sub") != payload.get("sub"):
                raise SuspiciousOperation("userinfo of another subject")
            claims.update(userinfo)
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        try:
            user = identity_sign_in(issuer=payload["iss"], claims=claims, mapping=settings.OIDC_CLAIMS_MAPPING)
        except SignInRefused as refused:
            logger.warning("single sign-on refused for subject %s: %s", payload.get("sub"), refused)
            messages.error(self.request, str(refused))
            return None
        user.oidc_issuer = payload["iss"]  # for the audit of the sign-in (monitoring_app.receivers)
        return user

    def get_user(self, user_id):
        # The parent's skips the active check: a user deactivated here must lose their session at once.
        return super(OIDCAuthenticationBackend, self).get_user(user_id)


class AuthenticationRequestView(OIDCAuthenticationRequestView):
    """Sends the browser to the provider to sign in (OIDC_AUTHENTICATE_CLASS). Not found while single
    sign-on is off; back to the sign-in page with a message while the provider does not answer."""

    def __init__(self, **kwargs):
        # Not the parent's, which reads the endpoint: get() does, where a failure can be answered.
        View.__init__(self, **kwargs)

    def get(self, request):
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ProviderUnavailable as exc:
            logger.warning("single sign-on not started, the provider did not answer: %s", exc)
            messages.error(request, UNAVAILABLE)
            return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


def logout_url(request) -> str:
    """Where signing out sends the browser (OIDC_OP_LOGOUT_URL_METHOD), read before the session is flushed.

    A session signed in through the provider ends there too: RP-initiated logout with id_token_hint,
    and back to the sign-in page (post_logout_redirect_uri, registered at the provider). A local
    session, or a provider without an end_session_endpoint, goes straight to the sign-in page.
    """
    after = resolve_url(settings.LOGOUT_REDIRECT_URL)
    id_token = request.session.get("oidc_id_token")
    if not id_token or not sso_enabled():
        return after
    try:
        endpoint = provider_setting("OIDC_OP_LOGOUT_ENDPOINT")
    except ProviderUnavailable as exc:
        logger.warning("signed out here only, the provider did not answer: %s", exc)
        return after
    if not endpoint:
        return after
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": request.build_absolute_uri(after),
            "client_id": settings.OIDC_RP_CLIENT_ID,
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
