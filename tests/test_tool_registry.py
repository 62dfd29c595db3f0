"""The tool registry: schemas from signatures and docstrings, argument checks, concurrency."""

from __future__ import annotations

import asyncio
import re
import threading
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from orchestrator.errors import ConfigError, ToolError
from tests.support import within
from tools.registry import Tool, ToolRegistry, make_tool, tool


class Opaque:
    """A type pydantic cannot validate or describe."""


class Point(BaseModel):
    x: int
    y: int


def lookup(
    query: str,
    k: Annotated[int, Field(ge=1, le=10)] = 5,
    mode: Literal["fast", "deep"] = "fast",
    tags: list[str] | None = None,
) -> str:
    """Look something up in the index.

    This second paragraph is not part of the description.

    Args:
        query: the words to look for,
            spread over two lines.
        k (int): how many results.
        mode: how hard to look.

    Returns:
        The results, one per line.
    """
    return f"{query}|{k}|{mode}|{tags}"


async def add(a: int, b: int) -> dict[str, int]:
    """Add two integers."""
    return {"sum": a + b}


def fail(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(f"disk on fire: {reason}")


def test_schema_comes_from_hints_and_docstring() -> None:
    spec = make_tool(lookup).schema()
    assert spec["type"] == "function"
    function = spec["function"]
    assert function["name"] == "lookup"
    assert function["description"] == "Look something up in the index."
    params = function["parameters"]
    assert params["type"] == "object"
    assert params["required"] == ["query"]
    assert params["additionalProperties"] is False
    props = params["properties"]
    assert list(props) == ["query", "k", "mode", "tags"]
    assert props["query"] == {
        "type": "string",
        "description": "the words to look for, spread over two lines.",
    }
    assert props["k"]["default"] == 5
    assert (props["k"]["minimum"], props["k"]["maximum"]) == (1, 10)
    assert props["k"]["description"] == "how many results."
    assert props["mode"]["enum"] == ["fast", "deep"]
    assert props["mode"]["default"] == "fast"
    assert "description" not in props["tags"]
    assert all("title" not in prop for prop in props.values())
    assert "title" not in params


def test_decorator_forms_and_name_override() -> None:
    @tool
    def plain(text: str) -> str:
        return text

    @tool(name="renamed-tool")
    def other(text: str) -> str:
        """Echo."""
        return text

    assert isinstance(plain, Tool)
    assert plain.name == "plain"
    assert plain.description == "plain"  # no docstring: the name stands in
    assert other.name == "renamed-tool"
    assert other.description == "Echo."


async def test_parameters_that_shadow_basemodel_attributes_are_fine() -> None:
    def shape(json: str, schema: str, model_config: int = 0) -> str:
        """Names that BaseModel uses itself."""
        return f"{json}/{schema}/{model_config}"

    made = make_tool(shape)
    assert list(made.parameters["properties"]) == ["json", "schema", "model_config"]
    assert await made.call({"json": "j", "schema": "s"}) == "j/s/0"


def test_bad_tool_definitions_are_config_errors() -> None:
    def star(*items: str) -> str:
        return ""

    with pytest.raises(ConfigError, match=r"parameter 'items' .*named arguments only"):
        make_tool(star)
    with pytest.raises(ConfigError, match=r"tool name 'has space' is not allowed"):
        make_tool(lookup, name="has space")

    def opaque(handle: Opaque) -> str:
        return ""

    with pytest.raises(ConfigError, match=r"tool 'opaque'.*JSON schema"):
        make_tool(opaque)


def test_duplicate_names_are_rejected() -> None:
    registry = ToolRegistry([lookup])
    with pytest.raises(ConfigError, match=r"'lookup' is already registered"):
        registry.register(make_tool(add, name="lookup"))
    assert registry.names() == ["lookup"]


async def test_unknown_tool_lists_the_known_ones() -> None:
    registry = ToolRegistry([lookup, add])
    with pytest.raises(ToolError, match=r"unknown tool 'lokup'; did you mean 'lookup'\?"):
        registry.get("lokup")
    with pytest.raises(ToolError, match=r"known tools: lookup, add"):
        await registry.call("nope", {})


async def test_valid_calls_coerce_fill_defaults_and_render_text() -> None:
    registry = ToolRegistry([lookup, add])
    assert await registry.call("lookup", {"query": "q", "k": "3"}) == "q|3|fast|None"
    assert await registry.call("lookup", {"query": "q", "tags": ["a"]}) == "q|5|fast|['a']"
    # Non-text results come back as JSON; arguments may also arrive as a JSON string.
    assert await registry.call("add", '{"a": 2, "b": 3}') == '{"sum":5}'


async def test_model_arguments_reach_the_tool_as_models() -> None:
    def norm(point: Point) -> int:
        """Manhattan norm."""
        assert isinstance(point, Point)
        return abs(point.x) + abs(point.y)

    assert await make_tool(norm).call({"point": {"x": -2, "y": 3}}) == "5"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"query": "q", "limit": 3}, r"unknown argument 'limit'; accepted arguments: query, k"),
        ({"qeury": "q"}, r"unknown argument 'qeury' \(did you mean 'query'\?\)"),
        ({}, r"missing required argument 'query' \(expected string\)"),
        ({"query": "q", "k": 11}, r"argument 'k' = 11: .*less than or equal to 10.*at most 10"),
        ({"query": "q", "k": "many"}, r"argument 'k' = 'many': .*valid integer"),
        ({"query": "q", "mode": "slow"}, r"argument 'mode' = 'slow'.*one of 'fast', 'deep'"),
        (["q"], r"arguments must be a JSON object, got list"),
        ("{not json", r"are not valid JSON.*pass a JSON object like \{\"query\": \"...\"\}"),
    ],
)
async def test_bad_arguments_name_the_argument_and_the_rule(args: Any, expected: str) -> None:
    with pytest.raises(ToolError, match=r"^tool 'lookup'") as info:
        await make_tool(lookup).call(args)
    assert re.search(expected, str(info.value)), str(info.value)


async def test_every_bad_argument_is_reported_at_once() -> None:
    with pytest.raises(ToolError) as info:
        await make_tool(lookup).call({"k": 0, "extra": 1})
    message = str(info.value)
    assert "missing required argument 'query'" in message
    assert "argument 'k' = 0" in message
    assert "unknown argument 'extra'" in message


async def test_a_raising_tool_becomes_a_tool_error_with_its_name_and_message() -> None:
    with pytest.raises(ToolError, match=r"tool 'fail' raised RuntimeError: disk on fire: now"):
        await make_tool(fail).call({"reason": "now"})

    async def refuse(doc: str) -> str:
        """Refuses with its own ToolError."""
        raise ToolError(f"no document {doc!r}")

    with pytest.raises(ToolError, match=r"^tool 'refuse' failed: no document 'x'$") as info:
        await make_tool(refuse).call({"doc": "x"})
    assert isinstance(info.value.__cause__, ToolError)


async def test_call_many_runs_async_tools_concurrently() -> None:
    first_started = asyncio.Event()
    second_started = asyncio.Event()

    async def first() -> str:
        """Waits until the second call has started."""
        first_started.set()
        await second_started.wait()
        return "first"

    async def second() -> str:
        """Waits until the first call has started."""
        second_started.set()
        await first_started.wait()
        return "second"

    registry = ToolRegistry([first, second])
    # Run one after the other, each call would wait for the other forever.
    results = await within(
        registry.call_many([("first", {}), ("second", {})]), "both calls running together"
    )
    assert results == ["first", "second"]


async def test_call_many_runs_sync_tools_in_threads_concurrently() -> None:
    barrier = threading.Barrier(2, timeout=10)
    loop_thread = threading.get_ident()

    def meet(who: str) -> str:
        """Waits at a barrier for the other call, off the event loop's thread."""
        assert threading.get_ident() != loop_thread
        barrier.wait()
        return who

    registry = ToolRegistry([meet])
    results = await within(
        registry.call_many([("meet", {"who": "a"}), ("meet", {"who": "b"})]),
        "both threads at the barrier together",
    )
    assert results == ["a", "b"]


async def test_call_many_returns_failures_in_place() -> None:
    registry = ToolRegistry([lookup, add, fail])
    results = await registry.call_many(
        [
            ("add", {"a": 1, "b": 1}),
            ("fail", {"reason": "x"}),
            ("missing", {}),
            ("lookup", {"query": "q", "k": 0}),
            ("lookup", {"query": "ok"}),
        ]
    )
    assert results[0] == '{"sum":2}'
    assert isinstance(results[1], ToolError) and "tool 'fail' raised" in str(results[1])
    assert isinstance(results[2], ToolError) and "unknown tool 'missing'" in str(results[2])
    assert isinstance(results[3], ToolError) and "argument 'k' = 0" in str(results[3])
    assert results[4] == "ok|5|fast|None"


def test_subset_schemas_and_membership() -> None:
    registry = ToolRegistry([lookup, add, fail])
    only = registry.subset(["add", "lookup"])
    assert only.names() == ["add", "lookup"]
    assert [s["function"]["name"] for s in only.schemas()] == ["add", "lookup"]
    assert "add" in only and "fail" not in only and len(only) == 2
    with pytest.raises(ToolError, match=r"unknown tool 'web'"):
        registry.subset(["web"])


async def test_a_tool_built_by_hand_still_validates() -> None:
    made = Tool(
        name="add",
        description="Add.",
        parameters={"type": "object", "properties": {"a": {}, "b": {}}},
        fn=add,
    )
    assert await made.call({"a": 1, "b": "2"}) == '{"sum":3}'
    with pytest.raises(ToolError, match=r"unknown argument 'c'"):
        await made.call({"a": 1, "b": 2, "c": 3})
