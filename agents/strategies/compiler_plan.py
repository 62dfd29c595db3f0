"""LLMCompiler plans: numbered tool calls whose arguments reference earlier results.

The planner of LLMCompiler (Kim et al., 2023, "An LLM Compiler for Parallel Function
Calling", arXiv:2312.04511) writes lines such as ``1. search(query="x")``,
``2. read(doc_id=$1)``, ``3. join()``. ``PlanStreamParser`` emits each call the moment
its line is complete, so the task fetching unit can start calls while the plan is still
streaming; ``ready_calls`` is that unit's ready set and ``resolve_args`` substitutes the
results. A JSON plan form serves models that use structured output. Standard library
and pydantic only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agents.strategies.compiler_call_args import REFERENCE_RE, parse_call_args
from agents.strategies.text_scan import brackets_balanced

JOIN_TOOL = "join"
END_OF_PLAN = "<END_OF_PLAN>"

# ``$$`` is a literal dollar sign; ``$n`` and ``${n}`` reference the result of call n.
_CALL_HEAD_RE = re.compile(r"^\s*(\d+)\s*[.):]\s*[A-Za-z_]\w*\s*\(")
_CALL_RE = re.compile(r"^\s*(\d+)\s*[.):]\s*([A-Za-z_]\w*)\s*\((.*)\)\s*$", re.DOTALL)


class PlannedCall(BaseModel):
    """One tool call of a plan: its index, tool, arguments and the calls it waits for.

    References stay in the arguments as text (``"$1"``, ``"see ${2}"``) until
    ``resolve_args`` substitutes them; ``deps`` lists the referenced indices.
    ``positional`` holds arguments written without a name, in order.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    idx: int
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    positional: list[Any] = Field(default_factory=list)
    deps: tuple[int, ...] = ()

    @property
    def is_join(self) -> bool:
        """True for the final ``join()``, which hands the results to the joiner."""
        return self.tool == JOIN_TOOL

    def bind(self, param_names: Sequence[str]) -> dict[str, Any]:
        """Keyword arguments with the positional ones named by the tool's parameters."""
        if len(self.positional) > len(param_names):
            raise ValueError(
                f"call {self.idx} passes {len(self.positional)} positional arguments but "
                f"{self.tool!r} takes {list(param_names)!r}; name the arguments"
            )
        bound = dict(zip(param_names, self.positional, strict=False))
        clash = sorted(set(bound) & set(self.args))
        if clash:
            raise ValueError(f"call {self.idx} passes {clash!r} both by position and by name")
        return {**bound, **self.args}


class ParsedPlan(BaseModel):
    """A whole parsed plan: the valid calls, every problem found, and the thoughts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    calls: list[PlannedCall]
    problems: list[str]
    thoughts: list[str] = Field(default_factory=list)


def references(value: Any) -> set[int]:
    """Every call index referenced anywhere in ``value`` (strings, lists, dict values)."""
    if isinstance(value, str):
        return {int(m.group(1) or m.group(2)) for m in REFERENCE_RE.finditer(value) if m.lastindex}
    if isinstance(value, Mapping):
        return set().union(*(references(v) for v in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(references(v) for v in value))
    return set()


def resolve_value(value: Any, results: Mapping[int, object]) -> Any:
    """``value`` with every reference replaced by its result.

    A string that is exactly one reference becomes the raw result (any type); a
    reference inside a longer string is interpolated with ``str(result)``.
    """
    if isinstance(value, str):
        whole = REFERENCE_RE.fullmatch(value.strip())
        if whole is not None and whole.lastindex:
            return _result(results, int(whole.group(1) or whole.group(2)))

        def substitute(match: re.Match[str]) -> str:
            if not match.lastindex:
                return "$"
            return str(_result(results, int(match.group(1) or match.group(2))))

        return REFERENCE_RE.sub(substitute, value)
    if isinstance(value, Mapping):
        return {key: resolve_value(item, results) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [resolve_value(item, results) for item in value]
    return value


def _result(results: Mapping[int, object], idx: int) -> object:
    if idx not in results:
        raise ValueError(
            f"argument references ${idx} but call {idx} has no result yet; "
            "start a call only when ready_calls lists it"
        )
    return results[idx]


def resolve_args(args: Mapping[str, Any], results: Mapping[int, object]) -> dict[str, Any]:
    """A call's arguments with ``$n`` / ``${n}`` replaced by the results of calls n."""
    return {key: resolve_value(value, results) for key, value in args.items()}


def ready_calls(
    calls: Sequence[PlannedCall], done: Collection[int], running: Collection[int] = ()
) -> list[PlannedCall]:
    """Calls not done or running whose references are all done, in plan order."""
    return [
        call
        for call in calls
        if call.idx not in done
        and call.idx not in running
        and all(dep in done for dep in call.deps)
    ]


class _PlanChecker:
    """Admits calls in plan order, collecting every problem; rejected calls are not valid."""

    def __init__(self, known_tools: Collection[str] | None) -> None:
        self.known_tools = known_tools
        self.problems: list[str] = []
        self._seen: set[int] = set()
        self._valid: set[int] = set()

    def reject(self, idx: int, problem: str) -> None:
        """Record a call that could not even be parsed (its index still counts as used)."""
        self._seen.add(idx)
        self.problems.append(problem)

    def admit(self, call: PlannedCall) -> PlannedCall | None:
        """The call (``join`` waiting for every earlier valid call), or None if invalid."""
        if call.is_join:
            deps = set(call.deps) | {i for i in self._valid if i < call.idx}
            call = call.model_copy(update={"deps": tuple(sorted(deps))})
        problems: list[str] = []
        where = f"call {call.idx} ({call.tool})"
        if call.idx < 1:
            problems.append(f"{where}: index {call.idx!r} must be >= 1")
        if call.idx in self._seen:
            problems.append(f"{where}: duplicate index {call.idx}; number the calls 1, 2, 3, ...")
        tools = self.known_tools
        if tools is not None and not call.is_join and call.tool not in tools:
            problems.append(f"{where}: unknown tool {call.tool!r}; the tools are {sorted(tools)!r}")
        for dep in call.deps:
            if dep >= call.idx:
                problems.append(
                    f"{where}: references ${dep}, which is not an earlier call; a call may only "
                    "use the results of calls before it"
                )
            elif dep not in self._valid:
                problems.append(
                    f"{where}: references ${dep}, which is not a valid call of this plan"
                )
        self._seen.add(call.idx)
        if problems:
            self.problems.extend(problems)
            return None
        self._valid.add(call.idx)
        return call


def _make_call(idx: int, tool: str, positional: list[Any], args: dict[str, Any]) -> PlannedCall:
    deps = references(positional) | references(args)
    return PlannedCall(
        idx=idx, tool=tool, args=args, positional=positional, deps=tuple(sorted(deps))
    )


class PlanStreamParser:
    """Incremental parser for a streamed LLMCompiler plan.

    ``feed(chunk)`` returns the calls whose lines completed in this chunk (a call whose
    brackets span lines completes with its closing line); ``close()`` flushes the
    last line. Invalid calls are not emitted but described in ``problems``, and so are
    calls that reference them, so every emitted call can eventually run. Lines that are
    not numbered calls are kept in ``thoughts``. ``join()`` waits for every earlier
    call and ends the plan, as does ``<END_OF_PLAN>``.
    """

    def __init__(
        self, known_tools: Collection[str] | None = None, *, max_call_chars: int = 8000
    ) -> None:
        self.known_tools = known_tools
        self.max_call_chars = max_call_chars
        self.calls: list[PlannedCall] = []
        self.thoughts: list[str] = []
        self.finished = False
        self._buffer = ""
        self._pending: str | None = None
        self._checker = _PlanChecker(known_tools)

    @property
    def problems(self) -> list[str]:
        """Every problem found so far, in plan order."""
        return self._checker.problems

    def feed(self, chunk: str) -> list[PlannedCall]:
        """Add streamed text; return the calls completed by it, in order."""
        if self.finished:
            return []
        self._buffer += chunk
        emitted: list[PlannedCall] = []
        end = self._buffer.find(END_OF_PLAN)
        if end != -1:
            self._buffer = self._buffer[:end] + "\n"
        while "\n" in self._buffer and not self.finished:
            line, self._buffer = self._buffer.split("\n", 1)
            emitted.extend(self._line(line))
        if end != -1 and not self.finished:
            emitted.extend(self._finish())
        return emitted

    def close(self) -> list[PlannedCall]:
        """End of stream: parse the last line and report an unfinished call."""
        if self.finished:
            return []
        emitted = self._line(self._buffer) if self._buffer.strip() else []
        self._buffer = ""
        if not self.finished:
            emitted.extend(self._finish())
        return emitted

    def result(self) -> ParsedPlan:
        """Everything parsed so far."""
        return ParsedPlan(calls=self.calls, problems=self.problems, thoughts=self.thoughts)

    def _finish(self) -> list[PlannedCall]:
        if self._pending is not None:
            self.problems.append(f"call is incomplete at the end of the plan: {self._pending!r}")
            self._pending = None
        self.finished = True
        return []

    def _line(self, line: str) -> list[PlannedCall]:
        if self._pending is not None:
            self._pending += "\n" + line
        elif _CALL_HEAD_RE.match(line):
            self._pending = line
        else:
            text = line.strip()
            if text:
                self.thoughts.append(re.sub(r"^thought\s*:\s*", "", text, flags=re.IGNORECASE))
            return []
        statement = self._pending
        if not brackets_balanced(statement):
            if len(statement) <= self.max_call_chars:
                return []
            self._pending = None
            self.problems.append(
                f"call {statement.strip()[:200]!r} is longer than {self.max_call_chars} "
                "characters without closing its brackets"
            )
            return []
        self._pending = None
        return self._statement(statement)

    def _statement(self, statement: str) -> list[PlannedCall]:
        match = _CALL_RE.match(statement)
        if match is None:
            self.problems.append(
                f"numbered line {statement.strip()!r} is not a tool call like "
                "'3. tool(arg=\"text\", other=$1)'"
            )
            return []
        idx, tool, arg_text = int(match.group(1)), match.group(2), match.group(3)
        try:
            positional, args = parse_call_args(arg_text)
        except ValueError as exc:
            self._checker.reject(idx, f"call {idx} ({tool}): {exc}")
            return []
        call = self._checker.admit(_make_call(idx, tool, positional, args))
        if call is None:
            return []
        self.calls.append(call)
        self.finished = call.is_join
        return [call]


def parse_plan(text: str, known_tools: Collection[str] | None = None) -> ParsedPlan:
    """Parse a complete text plan (the non-streaming form of ``PlanStreamParser``)."""
    parser = PlanStreamParser(known_tools)
    parser.feed(text)
    parser.close()
    return parser.result()


class JsonCall(BaseModel):
    """One call of a JSON plan, as a model writes it with structured output."""

    model_config = ConfigDict(extra="forbid")

    idx: int = Field(ge=1, description="1-based call number; calls reference earlier ones")
    tool: str = Field(min_length=1, max_length=100, description="tool name, or 'join' to end")
    args: dict[str, Any] = Field(
        default_factory=dict, description="arguments; '$n' or '${n}' is the result of call n"
    )


class JsonPlan(BaseModel):
    """A whole JSON plan: the calls in order."""

    model_config = ConfigDict(extra="forbid")

    calls: list[JsonCall] = Field(max_length=100)


def plan_json_schema() -> dict[str, Any]:
    """The JSON schema to request a plan with structured output."""
    return JsonPlan.model_json_schema()


def _json_payload(data: str | Sequence[Any] | Mapping[str, Any]) -> Any:
    if not isinstance(data, str):
        return data
    text = data.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    starts = [i for i in (text.find("["), text.find("{")) if i != -1]
    if starts:
        text = text[min(starts) :]
    return json.JSONDecoder().raw_decode(text)[0]


def parse_json_plan(
    data: str | Sequence[Any] | Mapping[str, Any], known_tools: Collection[str] | None = None
) -> ParsedPlan:
    """Parse a JSON plan (a list of ``{idx, tool, args}`` or ``{"calls": [...]}``).

    Checks it like a text plan: every problem is reported, and only calls whose
    references are valid are kept.
    """
    try:
        payload = _json_payload(data)
        if isinstance(payload, list):
            payload = {"calls": payload}
        plan = JsonPlan.model_validate(payload)
    except (ValueError, ValidationError) as exc:
        detail = str(exc).splitlines()[0]
        return ParsedPlan(
            calls=[],
            problems=[
                f'the plan is not JSON of the form {{"calls": [{{"idx": 1, "tool": ..., '
                f'"args": {{...}}}}]}}: {detail}'
            ],
        )
    checker = _PlanChecker(known_tools)
    admitted = (checker.admit(_make_call(c.idx, c.tool, [], c.args)) for c in plan.calls)
    calls = [call for call in admitted if call is not None]
    return ParsedPlan(calls=calls, problems=checker.problems)
