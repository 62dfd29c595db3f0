"""Arguments of planned tool calls that use earlier results (pure): ``$task_id`` references.

A ``tool`` task's arguments come from the plan; a string argument that is exactly
``$dep`` (or ``${dep}``) is replaced by the text of the dependency ``dep``'s result, and
``${dep}`` inside a longer string is replaced in place, so a calculator can take the
number a research task found.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_NAME = r"[A-Za-z0-9_.\-]{1,64}"
_WHOLE = re.compile(rf"^\$(?:\{{({_NAME})\}}|({_NAME}))$")
_INLINE = re.compile(rf"\$\{{({_NAME})\}}")


class ReferenceError(ValueError):
    """An argument refers to a task that is not one of the task's dependencies."""


def resolve_references(value: Any, texts: Mapping[str, str]) -> Any:
    """``value`` with every ``$dep`` / ``${dep}`` replaced by ``texts[dep]`` (recursively)."""
    if isinstance(value, str):
        whole = _WHOLE.match(value)
        if whole:
            return _text(whole.group(1) or whole.group(2), texts)
        return _INLINE.sub(lambda match: _text(match.group(1), texts), value)
    if isinstance(value, Mapping):
        return {key: resolve_references(item, texts) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_references(item, texts) for item in value]
    return value


def _text(name: str, texts: Mapping[str, str]) -> str:
    if name not in texts:
        known = ", ".join(f"${dep}" for dep in texts) or "none (the task has no dependencies)"
        raise ReferenceError(
            f"argument reference ${name} names no dependency of this task; references "
            f"available: {known}; add the task to depends_on or fix the reference"
        )
    return texts[name]
