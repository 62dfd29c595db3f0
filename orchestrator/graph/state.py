"""The job state of an agent graph (pure): plain data, merged key by key.

The state is stored with the job and read by edge conditions, so it holds only plain
data (mappings with string keys, lists, strings, numbers, booleans, null). An op's
update replaces the keys it names and keeps the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SCALARS = (str, int, float, bool, type(None))


def merge_state(state: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``state`` with the keys of ``update`` replaced (the LangGraph reducer of the state)."""
    return {**state, **update}


def plain_data_problem(value: Any, path: str = "state") -> str | None:
    """Where ``value`` holds something other than plain data, or None if it is all plain."""
    if isinstance(value, _SCALARS):
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} has the non-string key {key!r}"
            problem = plain_data_problem(item, f"{path}.{key}")
            if problem:
                return problem
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            problem = plain_data_problem(item, f"{path}[{index}]")
            if problem:
                return problem
        return None
    return f"{path} is a {type(value).__name__} ({value!r:.80})"
