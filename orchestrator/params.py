"""Checking an op's params against its pydantic model (pure): one format for every error.

Every op declares a params model (``extra="forbid"``). ``params_problems`` lists each
problem of a node's params as (path inside params, message); ``breadth validate`` puts
each one at its YAML line, and ``parse_params`` raises them together as one
``ConfigError`` at run time. Both say the bad value, the rule (the field's bounds and
default) and, for an unknown param, the params that exist.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from orchestrator.errors import ConfigError

P = TypeVar("P", bound=BaseModel)

ParamPath = tuple[str | int, ...]


_NO_VALUE = object()


@dataclass(frozen=True)
class ParamProblem:
    """One problem in an op's params: where inside ``params``, the bad value, what is wrong."""

    path: ParamPath
    rule: str
    value: Any = _NO_VALUE

    @property
    def message(self) -> str:
        """The problem as the graph loader shows it next to the field: ``0: Input ... (n: ...)``."""
        return self.rule if self.value is _NO_VALUE else f"{self.value!r}: {self.rule}"

    def sentence(self) -> str:
        """The problem with its place: ``params.n = 0: Input should be ... (n: >= 1, ...)``."""
        where = ".".join(["params", *(str(part) for part in self.path)])
        shown = "" if self.value is _NO_VALUE else f" = {self.value!r}"
        return f"{where}{shown}: {self.rule}"


def params_problems(model: type[BaseModel], raw: Mapping[str, Any]) -> list[ParamProblem]:
    """Every problem of ``raw`` against ``model`` (``[]``: the params are valid)."""
    try:
        model.model_validate(dict(raw))
    except ValidationError as exc:
        return [_problem(model, error) for error in exc.errors()]
    except ConfigError as exc:
        # A validator that checks a value against a registry (e.g. an unknown inner op).
        return [ParamProblem((), str(exc))]
    return []


def parse_params(model: type[P], raw: Mapping[str, Any], *, op: str, where: str) -> P:
    """``raw`` validated by ``model``; all problems at once as a ``ConfigError``."""
    try:
        return model.model_validate(dict(raw))
    except (ValidationError, ConfigError):
        problems = params_problems(model, raw)
    listed = "; ".join(problem.sentence() for problem in problems)
    raise ConfigError(
        f"bad params for op {op!r} ({where}): {listed}. Valid params: {describe_params(model)}. "
        f"Fix them in the graph (`breadth validate FILE` shows each with its line)"
    )


def describe_params(model: type[BaseModel]) -> str:
    """Each param with its rule, e.g. ``n (>= 1, <= 256, default 8), extract (...)``."""
    fields = model.model_fields
    return ", ".join(f"{name} ({describe_field(info)})" for name, info in fields.items()) or "none"


def describe_field(info: FieldInfo) -> str:
    """A field's bounds and default, e.g. ``>= 1, <= 256, default 8`` (or ``required``)."""
    bounds = []
    for meta in info.metadata:
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            bound = getattr(meta, attr, None)
            if bound is not None:
                bounds.append(f"{sign} {bound}")
    if info.is_required():
        return ", ".join([*bounds, "required"])
    if info.default_factory is not None:
        default: Any = info.default_factory()  # type: ignore[call-arg]
    else:
        default = info.default
    return ", ".join([*bounds, f"default {default!r}"])


def _problem(model: type[BaseModel], error: ErrorDetails) -> ParamProblem:
    loc: ParamPath = tuple(error["loc"])
    fields = model.model_fields
    name = str(loc[0]) if loc else ""
    if error["type"] == "extra_forbidden" and len(loc) == 1:
        close = difflib.get_close_matches(name, list(fields), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return ParamProblem(
            loc, f"unknown param {name!r}{hint} (the params are: {', '.join(fields) or 'none'})"
        )
    if error["type"] == "missing" and len(loc) == 1:
        return ParamProblem(loc, f"required param {name!r} is missing; add it")
    message = str(error["msg"]).removeprefix("Value error, ")
    if not loc:
        return ParamProblem(loc, message)
    rule = f" ({name}: {describe_field(fields[name])})" if name in fields else ""
    return ParamProblem(loc, f"{message}{rule}", error.get("input"))
