"""The researcher subagent: a bounded tool loop that answers one sub-question with findings.

Each step the model replies with structured JSON: a thought, up to three tool calls
(``search`` / ``read``, run concurrently), findings (claims with the ids of the
documents behind them) and whether it is done. Tool results, errors included, go back
into the next step's prompt, cut to stay short for small models. The schema of each
step only admits document ids that tool results have shown, so even a tiny model
cannot cite a document that does not exist. The sub-question is searched before the
first step, and a model that stops without findings is asked once more for them. A
finding keeps only citations of documents that hold its words; when the model gives no
such finding (or no valid reply), the findings are the sentences of the documents seen
that best match the sub-question, quoted and cited (``output["extracted"]``).
"""

from __future__ import annotations

import functools
import json
import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, create_model

from agents import prompts
from agents.common import agent_replica, clip, generate_json, job_toolbox
from agents.grounding import extract_findings, grounded_ids, merge_hits
from agents.tool_schema import call_arguments, call_model, describe_tools
from orchestrator import (
    AgentSpec,
    BudgetedReplica,
    BudgetExceeded,
    ChatMessage,
    ConfigError,
    ModelOutputError,
    RunContext,
    TaskResult,
    TaskSpec,
    ToolError,
)

SEARCH, READ = "search", "read"
SUPPORTED_TOOLS = (SEARCH, READ)
MAX_CALLS = 3
MAX_FINDINGS = 3
# Documents shown by the search before the first step (the sub-question's and the job's).
FIRST_SEARCH_HITS = 5
# Earlier turns shown in full (older ones are named only), and characters per context block.
KEEP_TURNS = 3
REPLY_CHARS = 1200
CONTEXT_CHARS = 1200
# The completion limit's floor for a step: room for the longest reply the schema admits
# at about 1.7 characters a token (a reply cut short does not parse and fails the attempt).
STEP_TOKENS = 1200

# A claim is a sentence: it starts with a letter and has a space within its first 42
# characters, so a grammar-constrained small model cannot fill it with digits or one long
# token. No double quote or backslash: a grammar built from the pattern would let them
# break the JSON string.
CLAIM_PATTERN = r'^[A-Za-z][^"\\\n ]{0,40} [^"\\\n]{8,250}$'

_SEARCH_HIT = re.compile(r"^\[([^\]\n]+)\]\s*(.*?)\s+—\s", re.MULTILINE)
_READ_HEADER = re.compile(r"^\[([^\]\n]+)\]\s*(.*?)(?:\s+\(characters [^)]*\))?\s*$")
# A document another tool returns (fetch): "[id] Title (characters a-b of n)", then "URL: …".
_DOC_HEADER = re.compile(r"^\[([^\]\n]+)\]\s*(.*?)\s+\(characters \d+-\d+ of \d+\)\s*$")
_URL_LINE = re.compile(r"^URL: (\S+)")


class SearchCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: Literal["search"]
    query: str = Field(min_length=2, max_length=120)


@dataclass
class Turn:
    """One finished step: the model's reply and each tool call with its result text."""

    reply: str
    results: list[tuple[str, str]]


@dataclass
class Notebook:
    """What a researcher has learned: documents seen (id → title), findings, read ids."""

    titles: dict[str, str] = field(default_factory=dict)
    # Document id → the text seen of it (search snippets, read windows): what citations
    # are checked against.
    seen: dict[str, str] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    read_ids: list[str] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)

    def add_findings(self, findings: Sequence[Mapping[str, Any]]) -> None:
        """Keep new claims (whitespace-normalized, deduplicated), citing only seen ids
        whose seen text holds the claim's words (``agents.grounding``); once documents
        are seen, a claim none of them supports is dropped."""
        known = {" ".join(str(f["claim"]).lower().split()) for f in self.findings}
        for finding in findings:
            claim = " ".join(str(finding.get("claim", "")).split())
            key = claim.lower()
            if not claim or key in known:
                continue
            known.add(key)
            ids = [str(i) for i in finding.get("source_ids", []) if str(i) in self.titles]
            ids = grounded_ids(claim, ids, self.seen)
            if self.seen and not ids:
                continue  # no document seen holds its words: not evidence
            self.findings.append({"claim": claim, "source_ids": list(dict.fromkeys(ids))})

    def record_results(
        self, calls: Sequence[tuple[str, dict[str, Any]]], results: Sequence[str | ToolError]
    ) -> list[tuple[str, str]]:
        """Note the documents each successful call showed; the turn's text for the prompt."""
        shown = []
        for (name, args), result in zip(calls, results, strict=True):
            described = f"{name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"
            if isinstance(result, ToolError):
                shown.append((described, f"error: {result}"))
                continue
            text = str(result)
            if name == SEARCH:
                for hit in _SEARCH_HIT.finditer(text):
                    self.titles.setdefault(hit.group(1).strip(), hit.group(2).strip())
                for line in text.splitlines():
                    shown_hit = _SEARCH_HIT.match(line)
                    if shown_hit:
                        self._saw(shown_hit.group(1).strip(), line)
            elif name == READ:
                doc_id = str(args["doc_id"])
                header = _READ_HEADER.match(text.split("\n", 1)[0])
                title = header.group(2).strip() if header and header.group(1) == doc_id else ""
                if title or doc_id not in self.titles:
                    self.titles[doc_id] = title or doc_id
                self.read_ids.append(doc_id)
                self._saw(doc_id, text)
            else:
                self._note_document(text)
            shown.append((described, text))
        return shown

    def _note_document(self, text: str) -> None:
        """A tool that returns a document (``fetch``) heads it like ``read`` does: note it."""
        first, _, rest = text.partition("\n")
        header = _DOC_HEADER.match(first)
        if header is None:
            return
        doc_id, title = header.group(1).strip(), header.group(2).strip() or header.group(1)
        url = _URL_LINE.match(rest)
        self.titles[doc_id] = f"{title} ({url.group(1)})" if url else title
        self.read_ids.append(doc_id)
        self._saw(doc_id, text)

    def _saw(self, doc_id: str, text: str) -> None:
        self.seen[doc_id] = f"{self.seen.get(doc_id, '')}\n{text}".strip()

    def sources(self) -> list[str]:
        """Cited ids first (in citation order), then the documents read."""
        cited = [i for f in self.findings for i in f["source_ids"]]
        return list(dict.fromkeys([*cited, *self.read_ids]))


def research_tools(ctx: RunContext, agent: AgentSpec) -> list[str]:
    """The tools the researcher will call: the agent's list and the tools of its MCP
    servers (``SERVER__TOOL``), else search/read when the job has them."""
    available = list(ctx.tools.names()) if ctx.tools is not None else []
    from_servers = [
        name for server in agent.mcp for name in available if name.startswith(f"{server}__")
    ]
    listed = [*agent.tools, *from_servers]
    wanted = list(dict.fromkeys(listed)) or [n for n in SUPPORTED_TOOLS if n in available]
    missing = [name for name in wanted if name not in available]
    missing += [s for s in agent.mcp if not any(n.startswith(f"{s}__") for n in available)]
    if missing:
        raise ConfigError(
            f"the researcher's tools {missing!r} are not available in this job (available: "
            f"{', '.join(available) or 'none'}); run the job with a corpus or remove them"
        )
    return wanted


def step_model(
    tools: Sequence[str],
    known_ids: Sequence[str],
    *,
    require_finding: bool = False,
    schemas: Mapping[str, Mapping[str, Any]] | None = None,
) -> type[BaseModel]:
    """The schema of one step: tool calls only for ``tools``, citations only of ``known_ids``.

    ``search`` and ``read`` have hand-made call schemas (a read may only name a known
    document); any other tool's call is built from its JSON schema (``schemas``, tool name
    -> argument schema). Once documents are known every finding must cite one, so a weak
    model cannot leave its claims unsourced; ``require_finding`` asks for at least one.
    """
    doc_id: Any = (
        cast(Any, Literal)[tuple(known_ids)]
        if known_ids
        else Annotated[str, Field(min_length=1, max_length=120)]
    )
    calls: list[type[BaseModel]] = []
    if SEARCH in tools:
        calls.append(SearchCall)
    if READ in tools:
        calls.append(
            create_model(
                "ReadCall",
                __config__=ConfigDict(extra="forbid"),
                tool=(cast(Any, Literal["read"]), ...),
                doc_id=(doc_id, ...),
                offset=(int, Field(default=0, ge=0, le=10_000_000)),
            )
        )
    for name in tools:
        if name not in SUPPORTED_TOOLS:
            calls.append(call_model(name, (schemas or {}).get(name, {})))
    finding: Any = create_model(
        "Finding",
        __config__=ConfigDict(extra="forbid"),
        claim=(str, Field(pattern=CLAIM_PATTERN)),
        source_ids=(
            list[doc_id],
            Field(min_length=1 if known_ids else 0, max_length=3 if known_ids else 0),
        ),
    )
    # The last step (no tools) keeps the field, bounded to none, so "tool_calls": [] parses.
    call_type: Any = functools.reduce(operator.or_, calls) if calls else SearchCall
    fields: dict[str, Any] = {
        "thought": (str, Field(max_length=200)),
        "tool_calls": (list[call_type], Field(min_length=0, max_length=MAX_CALLS if calls else 0)),
    }
    fewest = 1 if require_finding else 0
    fields["findings"] = (list[finding], Field(min_length=fewest, max_length=MAX_FINDINGS))
    fields["done"] = (bool, ...)
    return create_model("ResearchStep", __config__=ConfigDict(extra="forbid"), **fields)


def tool_schemas(ctx: RunContext, tools: Sequence[str]) -> dict[str, Mapping[str, Any]]:
    """The argument schema of each tool the researcher calls (from the job's toolbox)."""
    toolbox = job_toolbox(ctx, op="the researcher") if tools else None
    return {name: toolbox.get(name).parameters for name in tools} if toolbox else {}


def ctx_tool_description(ctx: RunContext, name: str) -> str:
    return job_toolbox(ctx, op="the researcher").get(name).description


def task_question(task: TaskSpec) -> str:
    question = task.params.get("question")
    return str(question) if question else (task.description or task.id)


def dependency_context(deps: Mapping[str, TaskResult]) -> str:
    """The dependencies' findings as short cited lines (for the task's prompt)."""
    lines = []
    for dep_id, result in deps.items():
        output = result.output if isinstance(result.output, Mapping) else {}
        for finding in output.get("findings", []):
            ids = ", ".join(finding.get("source_ids", []))
            lines.append(f"- ({dep_id}) {finding.get('claim', '')}" + (f" [{ids}]" if ids else ""))
    return clip("\n".join(lines), CONTEXT_CHARS)


def step_messages(
    system: str, task_text: str, turns: Sequence[Turn], step_line: str, result_chars: int
) -> list[ChatMessage]:
    """The prompt of one step: the task, the last few turns (older results cut harder)."""
    shown, dropped = turns[-KEEP_TURNS:], turns[:-KEEP_TURNS]
    first = task_text
    if dropped:
        earlier = "; ".join(call for turn in dropped for call, _ in turn.results)
        first += f"\nEarlier tool calls: {clip(earlier, 400)}"
    messages = [ChatMessage(role="system", content=system)]
    messages.append(ChatMessage(role="user", content=first if shown else f"{first}\n\n{step_line}"))
    for index, turn in enumerate(shown):
        latest = index == len(shown) - 1
        limit = result_chars if latest else max(200, result_chars // 4)
        body = "\n\n".join(f"{call}:\n{clip(text, limit)}" for call, text in turn.results)
        messages.append(ChatMessage(role="assistant", content=clip(turn.reply, REPLY_CHARS)))
        messages.append(
            ChatMessage(role="user", content=body + (f"\n\n{step_line}" if latest else ""))
        )
    return messages


async def research(
    ctx: RunContext,
    agent: AgentSpec,
    task: TaskSpec,
    dep_results: Mapping[str, TaskResult],
    *,
    result_chars: int = 1500,
    first_search: bool = True,
    context: str | None = None,
) -> TaskResult:
    """Research ``task``'s sub-question in at most ``agent.max_steps`` model calls.

    ``context`` is findings the task builds on besides its dependencies' (a research
    tree's parent branch), shown with theirs. With ``first_search``, the sub-question
    (or, if that finds nothing, the job's question) is searched before the first call
    and the hits are in its prompt (and citable), so even a weak model starts from
    relevant documents.

    Stops early when the model says it is done or makes no tool call (once it has
    findings), or when the job's budget is spent (keeping the findings so far; with
    none yet, the ``BudgetExceeded`` is raised so that the task is not stored as done).
    """
    tools = research_tools(ctx, agent)
    question = task_question(task)
    notebook = Notebook()
    for result in dep_results.values():
        output = result.output if isinstance(result.output, Mapping) else {}
        titles = output.get("titles", {})
        for source in result.sources:
            notebook.titles.setdefault(source, str(titles.get(source, source)))
    system = agent.system or (
        prompts.RESEARCHER_SYSTEM.format(tools=", ".join(tools))
        if tools
        else prompts.RESEARCHER_NO_TOOLS_SYSTEM
    )
    schemas = tool_schemas(ctx, tools)
    others = [name for name in tools if name not in SUPPORTED_TOOLS]
    if others and not agent.system:
        described = [(n, ctx_tool_description(ctx, n), schemas[n]) for n in others]
        system += "\n" + prompts.RESEARCHER_OTHER_TOOLS.format(tools=describe_tools(described))
    task_text = prompts.RESEARCHER_TASK.format(question=question, overall=ctx.question or question)
    earlier = "\n".join(t for t in (dependency_context(dep_results), context or "") if t)
    if earlier:
        task_text += f"\nFindings of earlier sub-questions:\n{clip(earlier, CONTEXT_CHARS)}"
    if first_search and SEARCH in tools:
        queries = [question, ctx.question]
        task_text += await _first_search(ctx, notebook, queries, result_chars)
    replica = agent_replica(ctx, agent, task_id=task.id)
    prompt = _Prompt(system, task_text, result_chars, schemas)
    try:
        taken, stopped_by = await _run_steps(ctx, agent, tools, notebook, prompt, replica)
    except ModelOutputError:
        if not notebook.seen:
            raise
        taken, stopped_by = agent.max_steps, None
    extracted = not notebook.findings and bool(notebook.seen)
    if extracted:
        # The model gave no finding a document supports: quote the documents it was shown,
        # by the sub-question's words, else by the job's (a sub-question may name none).
        quoted = extract_findings(question, notebook.seen, MAX_FINDINGS)
        if not quoted and ctx.question and ctx.question != question:
            quoted = extract_findings(ctx.question, notebook.seen, MAX_FINDINGS)
        notebook.add_findings(quoted)
    return TaskResult(
        task_id=task.id,
        status="done",
        text=findings_text(notebook.findings),
        output={
            "question": question,
            "findings": notebook.findings,
            "titles": {i: notebook.titles[i] for i in notebook.sources()},
            "steps": taken,
            "stopped_by": stopped_by,
            "extracted": extracted,
        },
        sources=notebook.sources(),
        usage=replica.usage,
    )


@dataclass(frozen=True)
class _Prompt:
    system: str
    task_text: str
    result_chars: int
    schemas: Mapping[str, Mapping[str, Any]]


async def _run_steps(
    ctx: RunContext,
    agent: AgentSpec,
    tools: Sequence[str],
    notebook: Notebook,
    prompt: _Prompt,
    replica: BudgetedReplica,
) -> tuple[int, str | None]:
    """The tool loop; returns the model calls made and the budget that stopped it, if any.

    When the model stops (done, or no tool call) with no findings yet and steps remain,
    one more step without tools asks it for findings.
    """
    steps = agent.max_steps
    wrap_up = False
    for step in range(steps):
        final = wrap_up or step == steps - 1
        hint = prompts.RESEARCHER_LAST_STEP_HINT if final else prompts.RESEARCHER_NEXT_HINT
        step_line = prompts.RESEARCHER_STEP.format(step=step + 1, steps=steps, hint=hint)
        schema = step_model(
            [] if final else tools,
            list(notebook.titles),
            require_finding=final and not notebook.findings,
            schemas=prompt.schemas,
        )
        messages = step_messages(
            prompt.system, prompt.task_text, notebook.turns, step_line, prompt.result_chars
        )
        try:
            reply, _ = await generate_json(
                ctx, agent, messages, schema, replica=replica, min_max_tokens=STEP_TOKENS
            )
        except BudgetExceeded as exc:
            if not notebook.findings:
                raise
            return step, exc.budget
        except ModelOutputError:
            if not notebook.findings:
                raise
            return step, None
        data = reply.model_dump(by_alias=True)
        notebook.add_findings(data["findings"])
        calls = [(str(c.pop("tool")), call_arguments(c)) for c in data["tool_calls"]]
        if final:
            return step + 1, None
        if calls:
            results = await job_toolbox(ctx, op="the researcher").call_many(calls)
            shown = notebook.record_results(calls, results)
            notebook.turns.append(Turn(json.dumps(data, ensure_ascii=False), shown))
        if data["done"] or not calls:
            if notebook.findings:
                return step + 1, None
            wrap_up = True
    return steps, None


async def _first_search(
    ctx: RunContext, notebook: Notebook, queries: Sequence[str], result_chars: int
) -> str:
    """Search every query (the sub-question's words, then the job's question) at once;
    their hits, merged in turn with the sub-question's first, as prompt text (or nothing).

    The searches use the questions' own words, so the researcher starts from relevant
    documents even when its own queries would be poor.
    """
    unique = list(dict.fromkeys(q.strip() for q in queries if q and q.strip()))
    calls = [(SEARCH, {"query": query}) for query in unique]
    replies = await job_toolbox(ctx, op="the researcher").call_many(calls) if calls else []
    found = [r for r in replies if not isinstance(r, ToolError) and _SEARCH_HIT.search(r)]
    if not found:
        return ""
    merged = merge_hits(found, FIRST_SEARCH_HITS)
    notebook.record_results([(SEARCH, {"query": unique[0]})], [merged])
    results = clip(merged, result_chars)
    return "\n\n" + prompts.RESEARCHER_FIRST_SEARCH.format(results=results)


def findings_text(findings: Sequence[Mapping[str, Any]]) -> str:
    """Findings as Markdown bullets citing their document ids."""
    if not findings:
        return "(no findings)"
    lines = []
    for finding in findings:
        ids = ", ".join(finding["source_ids"])
        lines.append(f"- {finding['claim']}" + (f" [{ids}]" if ids else ""))
    return "\n".join(lines)
