"""Access tokens (simplejwt), with the user's row read by a statement compiled once per process."""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from healthcare.db.statements import RowByPk
from healthcare.private_pieces import private_piece_enabled

_user_row = RowByPk(get_user_model())


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's authentication. The user's row is still read on every request (a deactivation or
    a password change applies at once, even one made by a bulk update that sends no signal); only
    the ORM's build and compile of that read is done once."""

    def get_user(self, validated_token):
        if _user_row.model._meta.pk.attname != api_settings.USER_ID_FIELD or not private_piece_enabled("statements"):
            return super().get_user(validated_token)
        # simplejwt 5.5's checks, in its order and with its errors.
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        user = _user_row.get(user_id)
        if user is None:
            raise AuthenticationFailed(_("User not found"), code="user_not_found")
        if api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise AuthenticationFailed(_("The user's password has been changed."), code="password_changed")
        return user


class JWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme (bearer JWT) of this class, as drf-spectacular gives simplejwt's."""

    target_class = "healthcare.accounts.authentication.JWTAuthentication"
