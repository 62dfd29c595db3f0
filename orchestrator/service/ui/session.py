"""The live page's session: a signed, short-lived cookie made from an API key (pure).

A browser's ``EventSource`` cannot send an ``Authorization`` header, and an API key in a
URL would end up in logs and history. So the page asks for the key once (a form POSTed
to ``/ui/login``), and the service answers with a cookie that holds no key: the tenant,
the stored digest of the key (so revoking the key ends the session), an expiry, and an
HMAC-SHA256 signature with a secret only the service knows. The cookie is ``HttpOnly``
(scripts cannot read it), ``SameSite=Strict`` (no other site's page can send it) and
scoped to ``/ui``: it opens the page's read-only routes, never the API.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

COOKIE = "breadth_ui"
SESSION_TTL_S = 8 * 3600
COOKIE_PATH = "/ui"
# Longest token accepted (a real one is ~200 characters).
MAX_TOKEN_CHARS = 1024


@dataclass(frozen=True)
class Session:
    """Who a valid cookie speaks for: a tenant, through which of its keys, until when."""

    tenant: str
    key_digest: str
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, payload: str) -> str:
    return _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())


def sign_session(secret: bytes, session: Session) -> str:
    """The cookie value for ``session``: ``payload.signature``, both base64url."""
    body = {"t": session.tenant, "k": session.key_digest, "e": session.expires_at}
    payload = _b64(json.dumps(body, separators=(",", ":")).encode())
    return f"{payload}.{_signature(secret, payload)}"


def read_session(secret: bytes, token: str | None, now: float) -> Session | None:
    """The session a cookie value holds, or None if it is missing, forged or expired."""
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    try:
        expected = _signature(secret, payload)
        if not hmac.compare_digest(expected, signature):
            return None
        body = json.loads(_unb64(payload))
        session = Session(tenant=body["t"], key_digest=body["k"], expires_at=int(body["e"]))
    except (ValueError, KeyError, TypeError, UnicodeError):
        return None
    if not isinstance(session.tenant, str) or not isinstance(session.key_digest, str):
        return None
    return session if session.expires_at > now else None


def safe_next(target: str | None, default: str = "/ui/jobs") -> str:
    """Where to go after logging in: a path of the page itself, never another site."""
    if (
        not target
        or not target.startswith("/ui/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 0x20 for ch in target)
    ):
        return default
    return target
