"""`Authorization: Token <key>` (or `Bearer <key>`) checked against the stored hashes."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from api.tokens import token_for_key

SCHEMES = (b"token", b"bearer")


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() not in SCHEMES:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("The Authorization header must be 'Token <key>' or 'Bearer <key>'.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        token = token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed(
                "The token is not valid: it was revoked, it expired, or its owner's password changed since.")
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = TokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "`Token <key>` or `Bearer <key>`: create a key on your profile page or with "
                           "POST /api/v1/auth/token. Keys expire (API_TOKEN_DAYS) and stop working when "
                           "their owner's password changes.",
        }
