"""The agent graph spec: what a user writes in ``graphs/*.yaml``, as pydantic models.

Every model forbids unknown fields, so a typo is an error rather than a silent default.
The field descriptions become the JSON Schema that ``breadth schema`` prints for editors.
Cross-references (an agent's model, a node's agent and op, edges between nodes, loops)
are checked by ``orchestrator.graph.checks``; the models check one value at a time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orchestrator.budget import Budgets
from orchestrator.graph.fleet_spec import RayFleetSpec

START = "START"
END = "END"

_CONDITION_TESTS = ("equals", "not_equals", "in", "truthy")


class ModelSpec(BaseModel):
    """A model the graph's agents can use: its servers and generation defaults."""

    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(
        default_factory=list,
        description=(
            "OpenAI-compatible base URLs of the servers to use (e.g. "
            "'http://127.0.0.1:8000/v1'). Empty: the job's default pool (the CLI's "
            "--model-url servers, or the embedded model)."
        ),
    )
    model: str | None = Field(
        default=None, description="Served model name sent with each request; None: the server's."
    )
    temperature: float = Field(
        default=0.7, ge=0.0, le=2.0, description="Default sampling temperature of its agents."
    )
    max_tokens: int = Field(
        default=512, ge=1, le=131_072, description="Default completion length limit of its agents."
    )
    ray: RayFleetSpec | None = Field(
        default=None,
        description=(
            "Serve this model from replicas in Ray actors (vLLM, llama.cpp or the simulator) "
            "instead of 'urls'; the pool routes across them."
        ),
    )

    @model_validator(mode="after")
    def _urls_or_ray(self) -> ModelSpec:
        if self.urls and self.ray is not None:
            raise ValueError(
                "a model is served by its 'urls' or by Ray replicas ('ray'), not both; "
                "remove one of them"
            )
        return self


MCP_SERVER_NAME = r"^[A-Za-z][A-Za-z0-9-]{0,30}$"


class McpServerSpec(BaseModel):
    """An MCP server whose tools the job's agents may call (started and stopped with the job).

    Give ``command`` (a stdio server the job starts) or ``url`` (a streamable HTTP server
    it connects to). Its tools are named ``SERVER__TOOL`` in the job.
    """

    model_config = ConfigDict(extra="forbid")

    command: str | None = Field(
        default=None, min_length=1, description="Executable of a stdio server (e.g. 'uvx')."
    )
    args: list[str] = Field(default_factory=list, description="Arguments of the command.")
    env: dict[str, str] = Field(
        default_factory=dict, description="Extra environment variables of the command."
    )
    cwd: str | None = Field(default=None, description="Working folder of the command.")
    url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Endpoint of a streamable HTTP server (e.g. 'http://127.0.0.1:8000/mcp').",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, description="HTTP headers sent to a url server (e.g. auth)."
    )
    tools: list[str] | None = Field(
        default=None, description="Only these tools of the server (default: all)."
    )
    timeout_s: float = Field(default=60.0, gt=0, le=3600, description="Limit of one call.")
    startup_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="Limit of starting and listing its tools."
    )
    concurrency: int = Field(default=4, ge=1, le=256, description="Calls at once.")

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerSpec:
        if (self.command is None) == (self.url is None):
            raise ValueError(
                "an MCP server takes exactly one of 'command' (stdio) or 'url' (streamable "
                "HTTP); give one of them"
            )
        return self


class AgentSpec(BaseModel):
    """An agent: a model, a system prompt and the tools it may call.

    ``tools`` is a list of tool names, or ``{names: [...], mcp: [...]}`` to also give the
    agent every tool of the named MCP servers (declared under ``mcp_servers``).
    """

    model_config = ConfigDict(extra="forbid")

    model: str = Field(default="default", description="Name of a model under 'models'.")
    system: str | None = Field(
        default=None, description="System prompt override; None: the op's built-in prompt."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Overrides the model's temperature."
    )
    max_tokens: int | None = Field(
        default=None, ge=1, le=131_072, description="Overrides the model's max_tokens."
    )
    tools: list[str] = Field(
        default_factory=list, description="Names of the tools the agent may call."
    )
    mcp: list[str] = Field(
        default_factory=list,
        description="MCP servers (names under 'mcp_servers') whose tools the agent may call.",
    )
    max_steps: int = Field(
        default=4, ge=1, le=50, description="Most model calls in one tool-using agent loop."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Free-form settings read by the ops using the agent."
    )

    @model_validator(mode="before")
    @classmethod
    def _tools_mapping(cls, data: Any) -> Any:
        """``tools: {names: [...], mcp: [...]}`` is ``tools: [...]`` plus ``mcp: [...]``."""
        if isinstance(data, Mapping) and isinstance(data.get("tools"), Mapping):
            tools = dict(data["tools"])
            unknown = sorted(set(tools) - {"names", "mcp"})
            if unknown:
                raise ValueError(
                    f"tools takes 'names' and 'mcp', not {unknown}; write "
                    f"tools: {{names: [search], mcp: [server]}}"
                )
            data = {**data, "tools": tools.get("names", [])}
            if "mcp" in tools:
                data["mcp"] = [*data.get("mcp", []), *tools["mcp"]]
        return data


class NodeSpec(BaseModel):
    """A stage of the job: an op (``plan``, ``research``, ...) run by an agent."""

    model_config = ConfigDict(extra="forbid")

    op: str = Field(description="Name of a registered op: plan, research, synthesize, ...")
    agent: str | None = Field(
        default=None, description="Name of an agent under 'agents'; None: the op needs no model."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Settings of the op (e.g. max_subquestions)."
    )
    max_visits: int = Field(
        default=1,
        ge=1,
        le=100,
        description=(
            "How many times the node may run in one job. A loop needs a node with "
            "max_visits > 1; once a node has run that often, edges into it are skipped."
        ),
    )


class Condition(BaseModel):
    """A test on one value of the job state; exactly one of the tests must be given.

    ``field`` is a key of the state, or a dotted path into nested mappings
    (``verdict.accepted``); a missing key reads as null.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    field: str = Field(
        min_length=1, description="State key, or dotted path into nested mappings; missing: null."
    )
    equals: Any = Field(default=None, description="Holds if the value equals this.")
    not_equals: Any = Field(default=None, description="Holds if the value differs from this.")
    in_: list[Any] | None = Field(
        default=None, alias="in", description="Holds if the value is one of these."
    )
    truthy: bool | None = Field(
        default=None,
        description="true: holds if the value is truthy (non-empty, non-zero); false: if falsy.",
    )

    @model_validator(mode="after")
    def _exactly_one_test(self) -> Condition:
        given = [t for t in _CONDITION_TESTS if self._has_test(t)]
        if len(given) != 1:
            raise ValueError(
                f"a condition takes exactly one test of {', '.join(_CONDITION_TESTS)}; "
                f"got {given or 'none'}: keep one (write two edges for two tests)"
            )
        return self

    def _has_test(self, test: str) -> bool:
        return ("in_" if test == "in" else test) in self.model_fields_set

    @property
    def test(self) -> str:
        """The name of the test this condition uses (``equals``, ``in``, ...)."""
        return next(t for t in _CONDITION_TESTS if self._has_test(t))


class EdgeSpec(BaseModel):
    """A transition: after ``from`` finishes, go to ``to`` (if ``when`` holds).

    The edges leaving a node are tried in file order, conditional ones first; its one
    edge without ``when`` is the fallback.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", description="Source node name, or START.")
    to: str = Field(description="Target node name, or END.")
    when: Condition | None = Field(
        default=None, description="Take this edge only if the condition holds."
    )


class GraphSpec(BaseModel):
    """An agent graph: models, agents, nodes, the edges between them, and the job's budgets."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, description="Name of the graph, shown in job listings.")
    description: str = Field(default="", description="What the graph does; first line: summary.")
    version: int = Field(default=1, ge=1, description="Version of the graph format.")
    models: dict[str, ModelSpec] = Field(
        default_factory=lambda: {"default": ModelSpec()},
        description="Models by name; 'default' is what agents use unless they name another.",
    )
    agents: dict[str, AgentSpec] = Field(
        default_factory=dict, description="Agents by name, referenced by nodes."
    )
    nodes: dict[str, NodeSpec] = Field(
        min_length=1, description="Nodes by name; START and END are reserved."
    )
    edges: list[EdgeSpec] = Field(
        default_factory=list, description="Transitions between nodes, from START to END."
    )
    budgets: Budgets = Field(
        default_factory=Budgets, description="Limits of a job run with this graph."
    )
    mcp_servers: dict[str, McpServerSpec] = Field(
        default_factory=dict,
        description="MCP servers by name, started with the job; agents list them under 'mcp'.",
    )

    @field_validator("mcp_servers")
    @classmethod
    def _server_names(cls, servers: dict[str, McpServerSpec]) -> dict[str, McpServerSpec]:
        bad = [name for name in servers if not re.match(MCP_SERVER_NAME, name)]
        if bad:
            raise ValueError(
                f"MCP server names {bad} are not allowed: use a letter, then up to 30 letters, "
                f"digits or '-' (its tools are named SERVER__TOOL)"
            )
        return servers

    @field_validator("models")
    @classmethod
    def _default_model_exists(cls, models: dict[str, ModelSpec]) -> dict[str, ModelSpec]:
        # Agents name "default" unless told otherwise: it is always defined.
        return {"default": ModelSpec(), **models}

    def edges_from(self, node: str) -> list[EdgeSpec]:
        """The edges leaving ``node`` (a node name or START), in file order."""
        return [edge for edge in self.edges if edge.from_ == node]


def graph_json_schema(op_params: Mapping[str, type[BaseModel]] | None = None) -> dict[str, Any]:
    """The JSON Schema of a graph file, for editors (``breadth schema``).

    With ``op_params`` (op name -> its params model, from the op registry), a node is
    ``oneOf`` one schema per op: its ``op`` constant and that op's params, so an editor
    checks params too.
    """
    schema = GraphSpec.model_json_schema(by_alias=True)
    schema["title"] = "breadth agent graph"
    if not op_params:
        return schema
    defs: dict[str, Any] = schema["$defs"]
    node = defs.pop("NodeSpec")
    variants = []
    for name, model in sorted(op_params.items()):
        params = model.model_json_schema(ref_template=f"#/$defs/{name}.{{model}}")
        for def_name, definition in params.pop("$defs", {}).items():
            defs[f"{name}.{def_name}"] = definition
        properties = {
            **node["properties"],
            "op": {"const": name, "description": node["properties"]["op"]["description"]},
            "params": params,
        }
        variants.append({**node, "title": f"node op {name}", "properties": properties})
    defs["NodeSpec"] = {"oneOf": variants, "description": node.get("description", "")}
    return schema
