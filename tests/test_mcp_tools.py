"""Tools from real MCP servers (the SDK's MCPServer) over stdio and streamable HTTP.

The stdio server is a subprocess the tools start and stop; the HTTP server runs in the
test's loop on a free loopback port. Their tools' JSON schemas become the job's tool
schemas, calls are checked against them, a failing tool is a ToolError, and a server
that cannot start is a ConfigError naming it. A graph declares servers under
``mcp_servers`` and agents list them under ``tools: {mcp: [...]}``; ``breadth validate``
checks the references.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from orchestrator.app import Runtime, builtin_ops, load_job_graph
from orchestrator.errors import ConfigError, GraphSpecError, ToolError
from orchestrator.job import JobRequest
from orchestrator.settings import Settings
from orchestrator.store.redis_store import RedisStore
from orchestrator.testing import ScriptedModel
from tests.loopback import serve_loopback
from tests.mcp_demo_server import build
from tools.mcp_client import McpServerConfig, McpServers

pytestmark = pytest.mark.timeout(60)

SERVER = str(Path(__file__).with_name("mcp_demo_server.py"))
STDIO = McpServerConfig(name="demo", command=sys.executable, args=(SERVER,))


@pytest.fixture
async def http_server() -> AsyncIterator[str]:
    async with serve_loopback(build().streamable_http_app(), lifespan="on") as port:
        yield f"http://127.0.0.1:{port}/mcp"


async def check_demo_tools(servers: McpServers) -> None:
    async with servers as tools:
        by_name = {tool.name: tool for tool in tools}
        assert sorted(by_name) == ["demo__add", "demo__shout"]
        add = by_name["demo__add"]
        assert add.description == "Add two integers."
        assert add.parameters["required"] == ["a", "b"]
        assert add.parameters["properties"]["a"]["type"] == "integer"
        assert await add.call({"a": 2, "b": 3}) == "5"
        assert await add.call('{"a": 40, "b": 2}') == "42"
        with pytest.raises(ToolError, match=r"bad arguments: b: 'x' is not of type 'integer'"):
            await add.call({"a": 1, "b": "x"})
        with pytest.raises(ToolError, match=r"demo__shout.*failed: .*asked to fail"):
            await by_name["demo__shout"].call({"text": "fail"})


async def test_a_stdio_server_is_started_its_tools_called_and_it_is_stopped() -> None:
    servers = McpServers([STDIO])
    await check_demo_tools(servers)
    assert servers.tools[0].session is not None


async def test_a_streamable_http_server_serves_the_same_tools(http_server: str) -> None:
    await check_demo_tools(McpServers([McpServerConfig(name="demo", url=http_server)]))


async def test_a_server_that_does_not_start_is_an_error_naming_it() -> None:
    broken = McpServerConfig(
        name="broken", command=sys.executable, args=("-c", "import sys; sys.exit('no luck')")
    )
    with pytest.raises(ConfigError, match=r"MCP server 'broken' .* failed to start.*no luck"):
        async with McpServers([broken]):
            pass
    missing = McpServerConfig(name="ghost", command="/nonexistent/mcp-server")
    with pytest.raises(ConfigError, match=r"MCP server 'ghost' .*failed to start"):
        async with McpServers([missing]):
            pass


async def test_an_unreachable_http_server_is_an_error_naming_it() -> None:
    gone = McpServerConfig(name="gone", url="http://127.0.0.1:9/mcp", startup_timeout_s=5)
    with pytest.raises(ConfigError, match=r"MCP server 'gone' \(at http://127.0.0.1:9/mcp\)"):
        async with McpServers([gone]):
            pass


GRAPH = """\
name: mcp_job
mcp_servers:
  demo:
    command: {python}
    args: [{server}]
agents:
  planner: {{}}
  worker:
    tools: {{names: [calculator], mcp: [demo]}}
nodes:
  plan: {{op: plan, agent: planner, params: {{tools: [demo__add]}}}}
  research: {{op: research, agent: worker}}
  synthesize: {{op: synthesize, agent: planner}}
edges:
  - {{from: START, to: plan}}
  - {{from: plan, to: research}}
  - {{from: research, to: synthesize}}
  - {{from: synthesize, to: END}}
"""


def graph_file(tmp_path: Path, text: str = GRAPH) -> Path:
    path = tmp_path / "mcp_job.yaml"
    path.write_text(text.format(python=sys.executable, server=SERVER))
    return path


def test_a_graph_declares_servers_and_agents_name_them(tmp_path: Path) -> None:
    spec = load_job_graph(graph_file(tmp_path), builtin_ops())
    assert spec.mcp_servers["demo"].command == sys.executable
    assert spec.agents["worker"].tools == ["calculator"]
    assert spec.agents["worker"].mcp == ["demo"]


def test_validate_names_an_undeclared_server_and_a_bad_transport(tmp_path: Path) -> None:
    text = GRAPH.replace("mcp: [demo]", "mcp: [demon]").replace(
        "    args: [{server}]", "    args: [{server}]\n    url: http://127.0.0.1:1/mcp"
    )
    with pytest.raises(GraphSpecError) as caught:
        load_job_graph(graph_file(tmp_path, text), builtin_ops())
    message = str(caught.value)
    assert "uses MCP server 'demon', which is not declared" in message
    assert "(did you mean 'demo'?)" in message
    assert "exactly one of 'command' (stdio) or 'url'" in message


async def test_a_job_starts_its_servers_and_a_tool_task_calls_one(
    tmp_path: Path, redis_client: aioredis.Redis, namespace: str
) -> None:
    plan = {
        "subquestions": [
            {
                "id": "sum",
                "question": "What is 19 plus 23?",
                "kind": "tool",
                "tool": "demo__add",
                "arguments": {"a": 19, "b": 23},
            }
        ]
    }
    report = {
        "title": "The sum",
        "sections": [
            {"heading": "Result", "paragraphs": [{"text": "The sum is 42.", "source_ids": []}]}
        ],
    }

    def script(request, index):  # type: ignore[no-untyped-def]
        title = (request.json_schema or {}).get("title", "")
        return json.dumps(report if title == "ResearchReport" else plan)

    settings = Settings(namespace=namespace)
    store = RedisStore(redis_client, namespace)
    async with await Runtime.open(settings, store=store, model=ScriptedModel(script)) as runtime:
        record = await runtime.research(
            JobRequest(question="What is 19 + 23?", graph=str(graph_file(tmp_path)))
        )
    assert record.state == "done", record.error
    results = await store.list_results(record.id)
    [result] = results.values()
    assert (result.status, result.text) == ("done", "42")
    events = [event for _, event in await store.read_events(record.id)]
    [call] = [e for e in events if e.type == "execute_tool"]
    assert call.data["tool"] == "demo__add" and call.data["status"] == "ok"
    assert call.task_id == "sum"
