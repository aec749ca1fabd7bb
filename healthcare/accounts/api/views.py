"""Sign-in over the API: tokens (obtain, refresh with rotation) and logout, each rate-limited."""

from django.contrib.auth import get_user_model
from django.utils.decorators import method_decorator
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from healthcare.accounts.ratelimits import refresh_limited, sign_in_limited
from healthcare.accounts.services import user_tokens_revoke
from healthcare.accounts.signals import token_issued
from healthcare.schema import NON_BLANK_TEXT
from healthcare.serializer_fields import TextField


@method_decorator(sign_in_limited, name="post")
class TokenObtainView(TokenObtainPairView):
    """A pair of tokens for a user name and password (rate-limited per address and per user name)."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        if response.status_code == 200:  # failures are audited where the password is checked
            username = str(request.data.get("username", ""))
            user = get_user_model().objects.filter(username=username).first()
            token_issued.send(sender=self.__class__, request=request, user=user)
        return response


@method_decorator(refresh_limited, name="post")
class TokenRefreshRotatingView(TokenRefreshView):
    """A new access token and a new refresh token; the refresh token sent is blacklisted (rotation)."""


class LogoutSerializer(serializers.Serializer):
    refresh = TextField(required=False, help_text="The refresh token to revoke.")
    everywhere = serializers.BooleanField(default=False, help_text="Revoke every refresh token of yours.")


# The body names a token or asks for all of them: the schema says so, which the serializer cannot.
LOGOUT_BODY = {
    "anyOf": [
        {
            "type": "object",
            "properties": {
                "refresh": {"type": "string", "pattern": NON_BLANK_TEXT, "description": "The refresh token to revoke."}
            },
            "required": ["refresh"],
        },
        {
            "type": "object",
            "properties": {"everywhere": {"type": "boolean", "enum": [True], "description": "Revoke all of yours."}},
            "required": ["everywhere"],
        },
    ]
}


class LogoutView(APIView):
    """Revoke a refresh token (or all of yours): it can no longer be refreshed."""

    permission_classes = [IsAuthenticated]
    serializer_class = LogoutSerializer

    @extend_schema(request={"application/json": LOGOUT_BODY}, responses={204: None})
    def post(self, request):
        from rest_framework_simplejwt.exceptions import TokenError
        from rest_framework_simplejwt.tokens import RefreshToken

        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data["everywhere"]:
            user_tokens_revoke(user=request.user)
        elif serializer.validated_data.get("refresh"):
            try:
                token = RefreshToken(serializer.validated_data["refresh"])
            except TokenError:
                # As OAuth token revocation (RFC 7009) does: a token that is invalid, expired or already
                # revoked can no longer be refreshed, which is what the client asked for.
                return Response(status=status.HTTP_204_NO_CONTENT)
            if str(token.get("user_id")) != str(request.user.pk):
                raise PermissionDenied("This refresh token is not yours to revoke.")
            token.blacklist()
        else:
            raise serializers.ValidationError({"refresh": ["send the refresh token, or everywhere: true"]})
        return Response(status=status.HTTP_204_NO_CONTENT)
