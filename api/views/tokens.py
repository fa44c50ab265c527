"""The caller's API tokens, and a token for a username and password."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    parser_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts.lockout import lockout_message
from api import tokens
from api.errors import ApiError, errors
from api.serializers import CredentialsSerializer, KeySerializer, NewTokenSerializer, TokenSerializer

TAG = ["tokens"]
PARSERS = [JSONParser, FormParser, MultiPartParser]


def _create(user, name: str):
    try:
        return tokens.create_token(user, name)
    except tokens.TooManyTokens as exc:
        raise ApiError(400, "too_many_tokens", str(exc)) from None


@extend_schema(tags=TAG, methods=["GET"], summary="Your API tokens (never the keys)",
               responses={200: TokenSerializer(many=True), **errors()})
@extend_schema(tags=TAG, methods=["POST"], summary="Create a token", request=TokenSerializer,
               description="The key is in the answer's `token` and is never shown again.",
               responses={201: NewTokenSerializer, **errors(400, 415)})
@api_view(["GET", "POST"])
@parser_classes(PARSERS)
def token_list(request):
    if request.method == "GET":
        return Response(TokenSerializer(request.user.api_tokens.all(), many=True).data)
    data = TokenSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    token, key = _create(request.user, data.validated_data.get("name", ""))
    return Response({**TokenSerializer(token).data, "token": key}, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG, summary="Revoke one of your tokens",
               responses={204: OpenApiResponse(description="Revoked."), **errors(404)})
@api_view(["DELETE"])
def token_detail(request, pk: int):
    if not tokens.revoke_token(request.user, pk):
        raise ApiError(404, "not_found", "You have no token with this id.")
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=TAG, summary="Get a token with a username and password", auth=[],
               request={"application/json": CredentialsSerializer,
                        "application/x-www-form-urlencoded": CredentialsSerializer,
                        "multipart/form-data": CredentialsSerializer},
               description="Gives a fresh key for your token called `name` ('Obtained with a password' "
                           "by default), replacing that token's old key, so signing in on every run keeps "
                           "one token. After LOGIN_FAILURE_LIMIT wrong passwords for one account or from "
                           "one address, sign-in is locked there for LOGIN_LOCKOUT_MINUTES (429, the same "
                           "counts as the login page).",
               responses={200: KeySerializer, **errors(400, 401, 415, 429, public=True)})
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([])
@parser_classes(PARSERS)
def obtain_token(request):
    data = CredentialsSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    name = data.validated_data.pop("name", "")
    user = authenticate(request._request, **data.validated_data)
    if getattr(request._request, "axes_locked_out", False):
        raise ApiError(429, "locked_out", lockout_message())
    if user is None:
        raise ApiError(401, "invalid_credentials", "The username or password is wrong.")
    try:
        _, key = tokens.sign_in_token(user, name)
    except tokens.TooManyTokens as exc:
        raise ApiError(400, "too_many_tokens", str(exc)) from None
    return Response({"token": key})
