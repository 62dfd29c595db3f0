"""Cross-reference and shape checks of an agent graph (pure).

The pydantic models check each value on its own; these checks look across the file:
names that must refer to something (models, agents, ops, tools, edge ends), and the
shape of the graph (a way in from START, a way out to END, no ambiguous or endless
routing). They read the raw data leniently, so a file with a typo elsewhere still
gets every other problem reported in the same pass; values of the wrong type are
skipped here because pydantic reports them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.graph.spec import END, START
from orchestrator.graph.yaml_lines import DataPath

# LangGraph reserves names that start with "__" (``__start__``, ``__end__``).
_NODE_NAME = re.compile(r"^(?!__)[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class Finding:
    """One problem and where in the data it is (``("edges", 2, "to")``)."""

    path: DataPath
    message: str


@dataclass(frozen=True)
class _Edge:
    index: int
    source: str
    target: str
    conditional: bool


@dataclass
class _Outline:
    """The names and links of a graph, read leniently from its raw data."""

    models: set[str] = field(default_factory=lambda: {"default"})
    mcp_servers: set[str] = field(default_factory=set)
    agents: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    nodes: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    edges: list[_Edge] = field(default_factory=list)

    def max_visits(self, node: str) -> int:
        value = self.nodes[node].get("max_visits", 1)
        return value if isinstance(value, int) and not isinstance(value, bool) else 1


def graph_findings(
    data: Any,
    *,
    known_ops: Collection[str] | None = None,
    known_tools: Collection[str] | None = None,
) -> list[Finding]:
    """Every cross-reference and shape problem of a graph's raw data (``[]``: none).

    ``known_ops`` / ``known_tools`` None: op / tool names are not checked.
    """
    if not isinstance(data, Mapping):
        return []
    outline = _outline(data)
    edge_ends = _edge_end_findings(outline)
    return [
        *_agent_findings(outline, known_tools),
        *_node_findings(outline, known_ops),
        *edge_ends,
        *_shape_findings(outline, dangling=bool(edge_ends)),
    ]


def suggestion(value: str, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known name, or ``""``."""
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _outline(data: Mapping[str, Any]) -> _Outline:
    outline = _Outline()
    models = data.get("models")
    if isinstance(models, Mapping):
        outline.models |= {name for name in models if isinstance(name, str)}
    servers = data.get("mcp_servers")
    if isinstance(servers, Mapping):
        outline.mcp_servers |= {name for name in servers if isinstance(name, str)}
    for section, target in (("agents", outline.agents), ("nodes", outline.nodes)):
        entries = data.get(section)
        if isinstance(entries, Mapping):
            for name, entry in entries.items():
                if isinstance(name, str):  # pydantic reports names of another type
                    target[name] = entry if isinstance(entry, Mapping) else {}
    edges = data.get("edges")
    if isinstance(edges, list):
        for index, edge in enumerate(edges):
            if not isinstance(edge, Mapping):
                continue
            source, target_name = edge.get("from"), edge.get("to")
            if isinstance(source, str) and isinstance(target_name, str):
                outline.edges.append(
                    _Edge(index, source, target_name, edge.get("when") is not None)
                )
    return outline


def _agent_findings(outline: _Outline, known_tools: Collection[str] | None) -> list[Finding]:
    findings = []
    for name, agent in outline.agents.items():
        model = agent.get("model", "default")
        if isinstance(model, str) and model not in outline.models:
            findings.append(
                Finding(
                    ("agents", name, "model"),
                    f"agent {name!r} uses model {model!r}, which is not defined under 'models' "
                    f"(defined: {', '.join(sorted(outline.models))})"
                    f"{suggestion(model, outline.models)}; "
                    f"define it there or use a defined one",
                )
            )
        findings += _mcp_findings(outline, name, agent)
        tools = agent.get("tools")
        where: tuple[str | int, ...] = ("agents", name, "tools")
        if isinstance(tools, Mapping):
            tools, where = tools.get("names"), (*where, "names")
        if known_tools is None or not isinstance(tools, list):
            continue
        for index, tool in enumerate(tools):
            if not isinstance(tool, str) or tool in known_tools:
                continue
            server = tool.split("__", 1)[0] if "__" in tool else None
            if server in outline.mcp_servers:
                continue  # a tool of a declared MCP server: known once the server starts
            findings.append(
                Finding(
                    (*where, index),
                    f"agent {name!r} lists unknown tool {tool!r}"
                    f"{suggestion(tool, known_tools)}; known tools: "
                    f"{', '.join(sorted(known_tools)) or 'none'} (and SERVER__TOOL for the "
                    f"tools of a server under 'mcp_servers')",
                )
            )
    return findings


def _mcp_findings(outline: _Outline, name: str, agent: Mapping[str, Any]) -> list[Finding]:
    """An agent's MCP servers (``mcp:`` or ``tools: {mcp: ...}``) must be declared."""
    tools = agent.get("tools")
    places: list[tuple[tuple[str | int, ...], Any]] = [(("agents", name, "mcp"), agent.get("mcp"))]
    if isinstance(tools, Mapping):
        places.append((("agents", name, "tools", "mcp"), tools.get("mcp")))
    findings = []
    for where, servers in places:
        if not isinstance(servers, list):
            continue
        for index, server in enumerate(servers):
            if isinstance(server, str) and server not in outline.mcp_servers:
                declared = ", ".join(sorted(outline.mcp_servers)) or "none"
                findings.append(
                    Finding(
                        (*where, index),
                        f"agent {name!r} uses MCP server {server!r}, which is not declared "
                        f"under 'mcp_servers' (declared: {declared})"
                        f"{suggestion(server, outline.mcp_servers)}; declare it there",
                    )
                )
    return findings


def _node_findings(outline: _Outline, known_ops: Collection[str] | None) -> list[Finding]:
    findings = []
    for name, node in outline.nodes.items():
        if name in (START, END) or not _NODE_NAME.match(name):
            findings.append(
                Finding(
                    ("nodes", name),
                    f"node name {name!r} is not allowed: use letters, digits, '_' and '-', "
                    f"starting with a letter or '_' (not '__'); START and END are reserved "
                    f"for the graph's entry and exit",
                )
            )
        op = node.get("op")
        if known_ops is not None and isinstance(op, str) and op not in known_ops:
            findings.append(
                Finding(
                    ("nodes", name, "op"),
                    f"node {name!r} uses unknown op {op!r}{suggestion(op, known_ops)}; "
                    f"known ops: {', '.join(sorted(known_ops)) or 'none'}",
                )
            )
        agent = node.get("agent")
        if isinstance(agent, str) and agent not in outline.agents:
            findings.append(
                Finding(
                    ("nodes", name, "agent"),
                    f"node {name!r} uses agent {agent!r}, which is not defined under 'agents' "
                    f"(defined: {', '.join(sorted(outline.agents)) or 'none'})"
                    f"{suggestion(agent, outline.agents)}; define it there or use a defined one",
                )
            )
    return findings


def _edge_end_findings(outline: _Outline) -> list[Finding]:
    findings = []
    defined = ", ".join(sorted(outline.nodes)) or "none"
    for edge in outline.edges:
        for key, value, special, wrong_special in (
            ("from", edge.source, START, END),
            ("to", edge.target, END, START),
        ):
            if value == wrong_special:
                findings.append(
                    Finding(
                        ("edges", edge.index, key),
                        f"an edge cannot go {key} {value!r}: START only has edges out, END "
                        f"only edges in",
                    )
                )
            elif value != special and value not in outline.nodes:
                findings.append(
                    Finding(
                        ("edges", edge.index, key),
                        f"edge {key} {value!r}: no such node"
                        f"{suggestion(value, outline.nodes)}; defined nodes: {defined} "
                        f"(and {special}); define the node under 'nodes' or fix the name",
                    )
                )
    return findings


def _shape_findings(outline: _Outline, *, dangling: bool) -> list[Finding]:
    """Routing and reachability; ``dangling``: some edge names a missing node."""
    findings: list[Finding] = []
    successors: dict[str, set[str]] = {}
    for edge in outline.edges:
        successors.setdefault(edge.source, set()).add(edge.target)
    if START not in successors:
        return [
            Finding(
                ("edges",),
                "no edge from START: the graph has no entry; add `- {from: START, to: <node>}`",
            )
        ]
    findings += _fallback_findings(outline)
    reached = _reachable(successors, START)
    for name in outline.nodes:
        if name not in reached:
            findings.append(
                Finding(
                    ("nodes", name),
                    f"node {name!r} is unreachable from START: no chain of edges leads to "
                    f"it; add an edge into it or remove the node",
                )
            )
    if dangling:
        return findings  # an edge names a missing node: paths to END cannot be judged yet
    if END not in reached:
        findings.append(
            Finding(
                ("edges",),
                "no path from START to END: the job could never finish; add an edge to END "
                "(e.g. `- {from: <last node>, to: END}`)",
            )
        )
    else:
        for name in outline.nodes:
            # A node with no edge out at all already has its own finding.
            if name in reached and name in successors and END not in _reachable(successors, name):
                findings.append(
                    Finding(
                        ("nodes", name),
                        f"no path from node {name!r} to END: once there the job could never "
                        f"finish; add an edge from it (or a node after it) to END",
                    )
                )
    findings += _endless_loop_findings(outline, successors)
    return findings


def _fallback_findings(outline: _Outline) -> list[Finding]:
    """Each source needs exactly one edge without ``when``: the route when no condition holds."""
    findings = []
    by_source: dict[str, list[_Edge]] = {}
    for edge in outline.edges:
        by_source.setdefault(edge.source, []).append(edge)
    for source in [START, *outline.nodes]:
        edges = by_source.get(source, [])
        fallbacks = [edge for edge in edges if not edge.conditional]
        if not edges:
            findings.append(
                Finding(
                    ("nodes", source),
                    f"node {source!r} has no outgoing edge; add one "
                    f"(`- {{from: {source}, to: END}}` to finish the job there)",
                )
            )
        elif not fallbacks:
            findings.append(
                Finding(
                    ("edges", edges[-1].index),
                    f"every edge from {source!r} has a 'when', so the job would have nowhere "
                    f"to go when none holds; add one edge from {source!r} without 'when' "
                    f"as the fallback",
                )
            )
        for extra in fallbacks[1:]:
            findings.append(
                Finding(
                    ("edges", extra.index),
                    f"{source!r} has several edges without 'when' (to "
                    f"{', '.join(repr(e.target) for e in fallbacks)}), so its next node is "
                    f"ambiguous; keep one as the fallback and give the others a 'when' "
                    f"(fan-out belongs in the task DAG, not the agent graph)",
                )
            )
    return findings


def _endless_loop_findings(outline: _Outline, successors: Mapping[str, set[str]]) -> list[Finding]:
    """A loop whose nodes all have ``max_visits: 1`` could never go round a second time."""
    findings = []
    grouped: set[str] = set()
    reach = {name: _reachable(successors, name, include_start=False) for name in outline.nodes}
    for name in outline.nodes:
        if name in grouped or name not in reach[name]:
            continue
        loop = [other for other in outline.nodes if other in reach[name] and name in reach[other]]
        grouped.update(loop)
        if all(outline.max_visits(node) == 1 for node in loop):
            findings.append(
                Finding(
                    ("nodes", name, "max_visits"),
                    f"the loop through {' → '.join(loop)} can never repeat: every node in it "
                    f"has max_visits 1; set max_visits on {name!r} to the number of rounds "
                    f"allowed (e.g. `max_visits: 3`), or remove the edge back",
                )
            )
    return findings


def _reachable(
    successors: Mapping[str, set[str]], origin: str, *, include_start: bool = True
) -> set[str]:
    """Nodes reachable from ``origin`` by one edge or more (plus ``origin`` if asked)."""
    seen = {origin} if include_start else set()
    frontier = list(successors.get(origin, ()))
    while frontier:
        node = frontier.pop()
        if node not in seen:
            seen.add(node)
            frontier.extend(successors.get(node, ()))
    return seen
