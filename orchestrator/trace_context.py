"""A job's trace as users see it: its W3C ``traceparent``, trace id and Jaeger link (pure).

Every run of a job continues one trace context, kept on its record
(``JobRecord.traceparent``); its trace id is what ``breadth show`` and the API give, with
a link to the trace in Jaeger when ``BREADTH_JAEGER_URL`` (the Jaeger UI's address) is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

JAEGER_URL_ENV = "BREADTH_JAEGER_URL"
TRACEPARENT_HEADER = "traceparent"
# version 00: trace id (32 hex, not all zero), parent span id (16 hex), flags (2 hex).
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def valid_traceparent(value: str | None) -> str | None:
    """``value`` if it is a usable W3C traceparent (version 00), else None."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None or set(match.group(1)) == {"0"} or set(match.group(2)) == {"0"}:
        return None
    return match.group(0)


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id (32 hex digits) of a traceparent, or None."""
    valid = valid_traceparent(traceparent)
    return valid.split("-")[1] if valid else None


def trace_url(trace_id: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The trace's page in the Jaeger UI at ``$BREADTH_JAEGER_URL``, or None."""
    base = (os.environ if env is None else env).get(JAEGER_URL_ENV, "").strip()
    if not trace_id or not base.startswith(("http://", "https://")):
        return None
    return f"{base.rstrip('/')}/trace/{trace_id}"
