"""The one redactor: every secret a target's requests carry, removed from upstream text.

An upstream may echo what it was sent: a DIDWW 403 quoting the Api-Key header, an Odin 500
to the login quoting the request body (the password), an Odin 401 quoting the bearer token.
Each target's `Redactor` knows every secret its requests carry, as the upstream may echo it
(as sent, JSON-escaped, URL-encoded, HTML-escaped, as Python's repr shows it, and a basic-auth
header's encoded and decoded credentials), and every text made from an upstream's answer passes
through it before it reaches a log line, the status page or an HTTP answer (see
`exporter.upstream.http_client` and `SnapshotBuilder.fail`).

Tokens change with every login; the last few are remembered, so an upstream that echoes the
token it just refused is still redacted after the new login.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
import threading
from collections import deque
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
# Header names whose values are credentials, in lower case.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "api-key", "x-api-key"})
# Tokens remembered after they were replaced: a refused token is echoed right after a login.
_KEPT_ROTATING = 4


class Redactor:
    """Thread-safe: workers add the tokens they send while others redact."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._fixed: set[str] = set()
        self._rotating: deque[tuple[str, ...]] = deque(maxlen=_KEPT_ROTATING)
        self._pattern: re.Pattern[str] | None = None
        self.longest = 0  # the longest form of a secret, for cutting after redacting
        for secret in secrets:
            self.add(secret)

    def add(self, secret: str, rotating: bool = False) -> None:
        """Remove `secret` from every text from now on (`rotating`: only while it is one of
        the last few rotating secrets added, e.g. a bearer token)."""
        self._add((secret,), rotating)

    def add_header(self, value: str, rotating: bool = False) -> None:
        """A credential header's value: the whole of it, and the credential in it."""
        secrets = [value]
        scheme, _, credential = value.partition(" ")
        if credential:
            secrets.append(credential)
            if scheme.lower() == "basic":
                secrets += _basic_credentials(credential)
        self._add(tuple(secrets), rotating)

    def _add(self, secrets: tuple[str, ...], rotating: bool) -> None:
        secrets = tuple(secret for secret in secrets if secret)
        with self._lock:
            if not secrets or secrets in self._rotating or self._fixed.issuperset(secrets):
                return
            if rotating:
                self._rotating.append(secrets)
            else:
                self._fixed.update(secrets)
            self._compile()

    def __call__(self, text: str) -> str:
        pattern = self._pattern
        return text if pattern is None else pattern.sub(REDACTED, text)

    def cut(self, text: str, limit: int) -> str:
        """The first `limit` characters of `text`, redacted. The cut is made in the original
        text, after any secret that starts before it: a secret straddling the cut leaves no
        half behind, and a shorter `[redacted]` does not pull a later copy into view."""
        end = limit
        pattern = self._pattern
        if pattern is not None:
            # A match that starts before `limit` ends within `limit + longest`.
            for match in pattern.finditer(text, 0, limit + self.longest):
                if match.start() >= limit:
                    break
                end = max(end, match.end())
        head = self(text[:end])
        return head if end >= len(text) else head + "…"

    def _compile(self) -> None:
        secrets = self._fixed.union(*self._rotating)
        forms = {form for secret in secrets for form in _forms(secret)}
        ordered = sorted(forms, key=len, reverse=True)  # a longer form before its own prefix
        self.longest = len(ordered[0]) if ordered else 0
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None


def shortened(text: str, limit: int) -> str:
    """The first `limit` characters of `text`, and "…" when there were more (for text that
    holds no secret, or already went through a `Redactor`)."""
    return text if len(text) <= limit else text[:limit] + "…"


def _forms(secret: str) -> set[str]:
    """The ways an upstream or a message may spell `secret`."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
        html.escape(secret),
        repr(secret)[1:-1],
    }
    return {form for form in forms if form}


def _basic_credentials(encoded: str) -> list[str]:
    """`user:password` and the password of a basic-auth credential."""
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("latin-1")
    except (binascii.Error, ValueError):
        return []
    _, _, password = decoded.partition(":")
    return [decoded, password]
