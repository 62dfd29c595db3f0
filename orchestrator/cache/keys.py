"""Content-addressed keys of model and tool calls (pure, no I/O).

A call's key is the SHA-256 of its normalized request as canonical JSON (sorted keys,
no spaces): for a model call the model, the messages and every sampling parameter
(seed included); for a tool call the tool's name and its arguments. Two calls with the
same key would get the same answer from a deterministic backend, which is what makes
reuse safe; a sampled call without a seed is not deterministic, so whether it may be
reused is the caller's decision (``sampled_without_seed``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from orchestrator.models.protocol import GenerateRequest


def canonical_json(value: Any) -> str:
    """``value`` as JSON with sorted keys and no whitespace: equal values, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(kind: str, payload: Any) -> str:
    return f"{kind}:" + hashlib.sha256(canonical_json(payload).encode()).hexdigest()


def model_call_key(request: GenerateRequest, model: str) -> str:
    """The key of a model call: ``model`` (the replica, when the request names none) and
    the request's messages and sampling parameters."""
    fields = request.model_dump(mode="json")
    fields["model"] = request.model or model
    return _digest("model", fields)


def tool_arguments(args: Mapping[str, Any] | str) -> Any:
    """A tool call's arguments as a value (JSON text parsed; text that is not JSON kept)."""
    if not isinstance(args, str):
        return dict(args)
    try:
        return json.loads(args) if args.strip() else {}
    except json.JSONDecodeError:
        return args


def tool_call_key(name: str, args: Mapping[str, Any] | str) -> str:
    """The key of a tool call: the tool's name and its arguments."""
    return _digest("tool", {"tool": name, "arguments": tool_arguments(args)})


def sampled_without_seed(request: GenerateRequest) -> bool:
    """Whether a request samples (temperature above 0) with no seed: its reply may differ
    each time, so a cached reply stands for one draw, reused only when asked."""
    return request.temperature > 0 and request.seed is None
