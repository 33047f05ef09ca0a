"""Minimal HS256 JSON Web Tokens: what Odin issues, enough for a client to read `exp` from."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

_HEADER = {"alg": "HS256", "typ": "JWT"}


class InvalidToken(Exception):
    """Not a token this simulator signed."""


class ExpiredToken(InvalidToken):
    """Signed here, but past its `exp`."""


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(signing_input: str, secret: bytes) -> bytes:
    return hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()


def encode(claims: dict[str, Any], secret: bytes) -> str:
    parts = [
        _b64encode(json.dumps(part, separators=(",", ":")).encode()) for part in (_HEADER, claims)
    ]
    signing_input = ".".join(parts)
    return f"{signing_input}.{_b64encode(_sign(signing_input, secret))}"


def decode(token: str, secret: bytes, now: float) -> dict[str, Any]:
    """The claims of a token signed with `secret`; raises InvalidToken or ExpiredToken."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("not a JWT")
    try:
        signature = _b64decode(parts[2])
        claims = json.loads(_b64decode(parts[1]))
    except (ValueError, UnicodeError) as exc:
        raise InvalidToken("undecodable JWT") from exc
    if not hmac.compare_digest(signature, _sign(f"{parts[0]}.{parts[1]}", secret)):
        raise InvalidToken("bad signature")
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
        raise InvalidToken("no exp claim")
    if now >= claims["exp"]:
        raise ExpiredToken("token expired")
    return claims
