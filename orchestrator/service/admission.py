"""What ``POST /v1/jobs`` accepts, and how a request becomes a job request for its tenant.

The body names a built-in graph or sends one as YAML text (checked here, every problem
with its line and field), may override budgets within the tenant's quota, and may name
a corpus folder among the service's corpora (never a path: the server's files are not
the caller's to read).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orchestrator.app import load_request_graph
from orchestrator.budget import BudgetOverrides
from orchestrator.graph.resolve import list_graphs
from orchestrator.graph.spec import GraphSpec
from orchestrator.job import JobRequest
from orchestrator.ops import OpRegistry
from orchestrator.service.problems import ApiProblem
from orchestrator.store.tenants import Tenant

MAX_QUESTION_CHARS = 20_000
MAX_GRAPH_CHARS = 200_000
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

MetaKey = Annotated[str, StringConstraints(min_length=1, max_length=64)]
MetaValue = Annotated[str, StringConstraints(max_length=1024)]


class JobCreate(BaseModel):
    """The body of ``POST /v1/jobs``."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(
        min_length=1, max_length=MAX_QUESTION_CHARS, description="The question to research."
    )
    graph: str = Field(
        default="deep_research",
        min_length=1,
        max_length=MAX_GRAPH_CHARS,
        description="A built-in graph name (GET /v1/graphs) or a graph as YAML text.",
    )
    corpus: str | None = Field(
        default=None,
        max_length=64,
        description="A corpus folder among the service's corpora (serve --corpora); "
        "none: the service's default corpus.",
    )
    budgets: BudgetOverrides | None = Field(
        default=None, description="Overrides of the graph's budgets (max_tokens, ...)."
    )
    metadata: dict[MetaKey, MetaValue] = Field(
        default_factory=dict, max_length=32, description="Your own labels, kept with the job."
    )

    def fingerprint(self) -> str:
        """A hash of the request, to tell a retried request from a different one."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:32]


def is_inline_yaml(graph: str) -> bool:
    return "\n" in graph or ":" in graph


def job_request(
    body: JobCreate, ops: OpRegistry, corpora: str | None
) -> tuple[JobRequest, GraphSpec]:
    """The job request ``body`` makes, and its graph (checked); ``ApiProblem`` or
    ``GraphSpecError`` (every problem, with lines) for a bad one.
    """
    if is_inline_yaml(body.graph):
        request = JobRequest(question=body.question, graph="inline", graph_yaml=body.graph)
    else:
        request = JobRequest(question=body.question, graph=_builtin_graph(body.graph))
    request.budgets = body.budgets
    request.metadata = dict(body.metadata)
    request.corpus = _corpus_folder(body.corpus, corpora)
    spec = load_request_graph(request, ops)
    if request.graph_yaml is not None:
        request.graph = spec.name
    return request, spec


def apply_token_quota(request: JobRequest, spec: GraphSpec, tenant: Tenant | None) -> JobRequest:
    """Cap the job's ``max_tokens`` at the tenant's quota; asking for more is a 403."""
    if tenant is None or tenant.max_tokens_per_job is None:
        return request
    limit = tenant.max_tokens_per_job
    asked = request.budgets.max_tokens if request.budgets is not None else None
    if asked is not None and asked > limit:
        raise ApiProblem(
            403,
            f"budgets.max_tokens {asked!r} is over tenant {tenant.name!r}'s quota of "
            f"max_tokens_per_job={limit}; ask for at most {limit} (or have an operator raise "
            f"the quota with `breadth keys create --tenant {tenant.name} "
            f"--max-tokens-per-job N`)",
            slug="quota-exceeded",
        )
    graph_limit = spec.budgets.max_tokens
    effective = min(limit, asked or graph_limit or limit)
    overrides = request.budgets or BudgetOverrides()
    request.budgets = overrides.model_copy(update={"max_tokens": effective})
    return request


def _builtin_graph(name: str) -> str:
    builtin = list_graphs()
    stem = name.removesuffix(".yaml").removesuffix(".yml")
    if _NAME.match(name) and stem in builtin:
        return stem
    raise ApiProblem(
        422,
        f"graph {name[:100]!r} is not a built-in graph: the API takes a built-in graph name "
        f"({', '.join(builtin)}) or a whole graph as YAML text (never a file path); "
        f"GET /v1/graphs lists them",
        slug="unknown-graph",
    )


def _corpus_folder(name: str | None, corpora: str | None) -> str | None:
    if name is None:
        return None
    if corpora is None:
        raise ApiProblem(
            422,
            f"corpus {name!r} cannot be used: this service serves no corpora (start it with "
            f"`breadth serve --corpora DIR`); leave corpus out to use its default corpus",
            slug="unknown-corpus",
        )
    root = Path(corpora)
    folders = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if not _NAME.match(name) or name not in folders:
        raise ApiProblem(
            422,
            f"corpus {name[:100]!r} is not one of this service's corpora "
            f"({', '.join(folders) or 'none'}); name one of them, or leave corpus out",
            slug="unknown-corpus",
        )
    return str((root / name).resolve())
