"""Bearer credentials: short-lived signed access tokens for people, and resolving any bearer to a principal.

An access token is a JWT (HS256) under a key derived from the site secret. It names the user and when
it was issued; each request checks the user is still active and the token younger than the user's
``tokens_valid_after``, so switching a user off, changing their roles or password ends their sessions.
"""

import hashlib
import hmac
from datetime import datetime, timedelta

import jwt
from sqlalchemy.orm import Session

from hub.errors import Unauthenticated
from hub.services import api_keys, users
from hub.services.principals import Principal
from hub.store.auth_models import User

_ALGORITHM = "HS256"
_AUDIENCE = "atrium-api"


def token_key(site_secret: bytes) -> bytes:
    """The signing key for access tokens, kept apart from the other uses of the site secret."""
    return hmac.new(site_secret, b"atrium-access-token", hashlib.sha256).digest()


def issue_access_token(key: bytes, user: User, *, now: datetime, lifetime: timedelta) -> str:
    claims = {"sub": str(user.id), "aud": _AUDIENCE, "iat": now.timestamp(), "exp": now + lifetime}
    return jwt.encode(claims, key, algorithm=_ALGORITHM)


def _user_of_token(session: Session, key: bytes, token: str, now: datetime) -> User:
    try:
        claims = jwt.decode(
            token, key, algorithms=[_ALGORITHM], audience=_AUDIENCE, options={"require": ["sub", "iat", "exp"]},
            leeway=0,
        )  # fmt: skip
        user_id, issued = int(claims["sub"]), float(claims["iat"])
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the access token has expired; sign in again") from None
    except (jwt.InvalidTokenError, ValueError):
        raise Unauthenticated("the bearer token is not valid") from None
    user = session.get(User, user_id)
    if user is None or not user.active:
        raise Unauthenticated("this account is switched off")
    if issued < user.tokens_valid_after.timestamp():
        raise Unauthenticated("this session has ended (password, roles or sign-out); sign in again")
    return user


def resolve_bearer(session: Session, token: str, *, key: bytes, now: datetime) -> Principal:
    """The principal a bearer token stands for: an API key, or a person's access token."""
    if api_keys.looks_like_key(token):
        found = api_keys.find_active_key(session, token)
        if found is None:
            raise Unauthenticated("this API key is unknown or revoked")
        return api_keys.principal_of(found)
    return users.principal_of(_user_of_token(session, key, token, now))
