"""``/v1/graphs``: the built-in graphs, and checking a graph's YAML before submitting it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.app import builtin_tool_names, load_job_graph
from orchestrator.client.types import GraphInfo, GraphProblem, GraphValidation
from orchestrator.graph.loader import graph_text_problems, load_graph_text
from orchestrator.graph.resolve import list_graphs
from orchestrator.service.admission import MAX_GRAPH_CHARS
from orchestrator.service.auth import Caller, caller, service_state

router = APIRouter(prefix="/v1/graphs", tags=["graphs"])


class GraphText(BaseModel):
    """The body of ``POST /v1/graphs/validate``."""

    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(max_length=MAX_GRAPH_CHARS, description="A whole agent graph, as YAML.")


@router.get("", response_model=list[GraphInfo], summary="The built-in graphs")
async def builtin_graphs(
    request: Request, _: Annotated[Caller, Depends(caller)]
) -> list[GraphInfo]:
    ops = service_state(request).runtime.ops
    infos = []
    for name, path in list_graphs().items():
        spec = load_job_graph(path, ops)
        infos.append(GraphInfo(name=name, description=spec.description, nodes=list(spec.nodes)))
    return infos


@router.post("/validate", response_model=GraphValidation, summary="Check a graph's YAML")
async def validate_graph(
    body: GraphText, request: Request, _: Annotated[Caller, Depends(caller)]
) -> GraphValidation:
    ops = service_state(request).runtime.ops
    checks = {
        "file": "<graph>",
        "known_ops": ops.names(),
        "known_tools": builtin_tool_names(),
        "param_checks": ops.param_checks(),
    }
    problems = graph_text_problems(body.yaml, **checks)  # type: ignore[arg-type]
    if problems:
        found = [GraphProblem(line=p.line, field=p.field, message=p.message) for p in problems]
        return GraphValidation(valid=False, problems=found)
    spec = load_graph_text(body.yaml, **checks)  # type: ignore[arg-type]
    return GraphValidation(valid=True, name=spec.name)
