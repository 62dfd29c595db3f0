"""The lead planner: splits the question into sub-questions, a DAG of research tasks.

The model replies with structured output (sub-questions with ids and dependencies).
Harmless slips are normalized (ids slugified, whitespace trimmed, repeated
dependencies merged); real problems (a cycle, an unknown dependency, a reused id) are
shown to the model with ``orchestrator.dag.validate_plan``'s sentences, and it tries
again, a bounded number of times; the last try asks for independent sub-questions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, create_model

from agents import prompts
from agents.common import agent_replica, clip, generate_json
from agents.plan_quality import derived_subquestions, plan_text_problems, usable_subquestions
from orchestrator import (
    AgentSpec,
    ChatMessage,
    ModelOutputError,
    PlanError,
    RunContext,
    TaskPlan,
    TaskSpec,
    TokenUsage,
    validate_plan,
)

RESEARCH_KIND, TOOL_KIND, OPERATOR_KIND = "research", "tool", "operator"
# No double quote or backslash: a grammar built from the pattern would let them break the JSON;
# no braces or brackets: a small model that runs away closes JSON inside the string.
QUESTION_PATTERN = r'^[A-Za-z][^"\\\n{}\[\]]{8,120}[?]$'
ID_CHARS = 24
QUESTION_CHARS = 122
_NOT_ID = re.compile(r"[^a-z0-9_.\-]+")


class IndependentSubQuestion(BaseModel):
    """One sub-question of a plan without dependencies (the planner's last resort)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=ID_CHARS)
    # A question (ending with '?') that starts with a letter: a grammar-constrained small
    # model cannot answer with digits or punctuation, and a strong one writes this anyway.
    question: str = Field(pattern=QUESTION_PATTERN)


@dataclass(frozen=True)
class PlanChoices:
    """What else than research the planner may plan: tool calls and strategy ops.

    ``tools``: tool name -> its argument names; ``operators``: op name -> its params.
    """

    tools: Mapping[str, Sequence[str]] = field(default_factory=dict)
    operators: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def kinds(self) -> list[str]:
        return [
            RESEARCH_KIND,
            *([TOOL_KIND] if self.tools else []),
            *([OPERATOR_KIND] if self.operators else []),
        ]


NO_CHOICES = PlanChoices()


def plan_reply_model(
    max_subquestions: int,
    *,
    dependencies: bool = True,
    choices: PlanChoices = NO_CHOICES,
    min_subquestions: int = 1,
) -> type[BaseModel]:
    """The reply schema: ``min_subquestions``..``max_subquestions`` sub-questions, with or
    without depends_on.

    With ``choices``, a sub-question may be a tool call or be answered by a strategy op:
    ``kind``, and ``tool`` with ``arguments``, or ``op``.
    """
    item: Any = IndependentSubQuestion
    fields: dict[str, Any] = {}
    if dependencies:
        fields["depends_on"] = (
            list[Annotated[str, Field(max_length=ID_CHARS)]],
            Field(default=[], min_length=0, max_length=max_subquestions),
        )
    if choices.tools or choices.operators:
        fields["kind"] = (cast(Any, Literal)[tuple(choices.kinds())], RESEARCH_KIND)
    if choices.tools:
        fields["tool"] = (cast(Any, Literal)[tuple(choices.tools)] | None, None)
        fields["arguments"] = (
            dict[str, Annotated[str, Field(max_length=200)] | int | float | bool],
            Field(default_factory=dict, max_length=8),
        )
    if choices.operators:
        fields["op"] = (cast(Any, Literal)[tuple(choices.operators)] | None, None)
    if fields:
        item = create_model("SubQuestion", __base__=IndependentSubQuestion, **fields)
    return create_model(
        "ResearchPlan",
        __config__=ConfigDict(extra="forbid"),
        subquestions=(
            list[item],
            Field(min_length=min(min_subquestions, max_subquestions), max_length=max_subquestions),
        ),
    )


def plan_reply_tokens(max_subquestions: int) -> int:
    """The longest reply the schema admits, in tokens (its completion limit's floor).

    Counted as one token a character: a small model that degenerates into "1. 2. 3. ..."
    inside a string spends about that, and a reply cut short does not parse.
    """
    item = 40 + ID_CHARS + QUESTION_CHARS + max_subquestions * (ID_CHARS + 3)
    return 20 + max_subquestions * item


def slug(raw: str) -> str:
    """A task id from what the model wrote: lowercase, other characters as '-' (max 64).

    Leading and trailing '-' and '.' go, so a placeholder such as "..." leaves nothing
    (and the task gets a positional id).
    """
    return _NOT_ID.sub("-", raw.strip().lower()).strip("-.")[:64].strip("-.")


def kind_problems(subquestions: Sequence[Mapping[str, Any]]) -> list[str]:
    """What a tool or operator sub-question lacks (told to the model, which tries again)."""
    problems = []
    for sub in subquestions:
        kind = sub.get("kind", RESEARCH_KIND)
        if kind == TOOL_KIND and not sub.get("tool"):
            problems.append(f"sub-question {sub['id']!r} has kind 'tool' but names no tool")
        if kind == OPERATOR_KIND and not sub.get("op"):
            problems.append(f"sub-question {sub['id']!r} has kind 'operator' but names no op")
    return problems


def to_task_plan(
    subquestions: Sequence[Mapping[str, Any]], choices: PlanChoices = NO_CHOICES
) -> TaskPlan:
    """The tasks of a reply: ids slugified, a sub-question's text its description.

    In a plan without dependencies no id is referenced, so repeated ids get a suffix
    (``-2``, ``-3``) instead of being an error.
    """
    independent = all("depends_on" not in sub for sub in subquestions)
    tasks = []
    used: set[str] = set()
    for index, sub in enumerate(subquestions, start=1):
        task_id = slug(str(sub["id"])) or f"q{index}"
        if independent:
            base, n = task_id[:60], 1
            while task_id in used:
                n += 1
                task_id = f"{base}-{n}"
        used.add(task_id)
        deps = tuple(dict.fromkeys(slug(d) for d in sub.get("depends_on", []) if d.strip()))
        question = " ".join(str(sub["question"]).split())
        kind = str(sub.get("kind") or RESEARCH_KIND)
        params: dict[str, Any] = {"question": question}
        if kind == TOOL_KIND:
            params = {"tool": sub.get("tool"), "arguments": dict(sub.get("arguments") or {})}
        elif kind == OPERATOR_KIND:
            op = str(sub.get("op"))
            params = {"op": op, "params": dict(choices.operators.get(op, {})), "question": question}
        tasks.append(
            TaskSpec(id=task_id, kind=kind, description=question, depends_on=deps, params=params)
        )
    return TaskPlan(tasks=tasks)


async def plan_research(
    ctx: RunContext,
    agent: AgentSpec,
    question: str,
    *,
    max_subquestions: int,
    attempts: int = 3,
    choices: PlanChoices = NO_CHOICES,
    min_subquestions: int = 1,
    derive: bool = False,
) -> tuple[TaskPlan, TokenUsage]:
    """A valid plan of research tasks for ``question``, and the tokens spent on it.

    Every invalid reply is shown to the model with its problems (an invalid DAG, or
    sub-questions that are degenerate, copy the question or each other, or fewer than
    ``min_subquestions`` usable ones: ``agents.plan_quality``); each retry samples a
    little hotter so as not to repeat itself. When more than one attempt is allowed,
    the last one asks for independent sub-questions (no depends_on, so no cycle is
    possible): a model that cannot write a valid DAG still gets the job researched.
    Each attempt's tokens are recorded against the job as they are spent.

    With ``derive``, as soon as the replies so far hold ``min_subquestions`` usable
    sub-questions, they make an independent plan. When no attempt gives a valid plan but
    some reply followed the schema (or began to, as JSON), ``derive`` builds an
    independent plan from the usable sub-questions the model did write, topped up with
    sub-questions made from the question's own words (``derived_subquestions``), and
    says so in a ``log`` event.
    Otherwise (a model that never even writes JSON is broken, not weak, and deriving
    would hide it) raises ``PlanError`` with the last problems and output.
    """
    fewest = min(min_subquestions, max_subquestions)
    system = agent.system or prompts.PLANNER_SYSTEM.format(
        max_subquestions=max_subquestions, min_subquestions=fewest
    )
    system += choices_prompt(choices)
    base = [
        ChatMessage(role="system", content=system),
        ChatMessage(role="user", content=prompts.PLANNER_USER.format(question=question)),
    ]
    messages = base
    replica = agent_replica(ctx, agent)
    problems: list[str] = []
    last_output = ""
    written: list[str] = []
    parsed = False
    for attempt in range(attempts):
        independent = attempts > 1 and attempt == attempts - 1
        if independent:
            messages = [*messages[:-1], _with_line(messages[-1], prompts.PLANNER_INDEPENDENT)]
        schema = plan_reply_model(
            max_subquestions,
            dependencies=not independent,
            choices=choices,
            min_subquestions=fewest,
        )
        try:
            reply, _ = await generate_json(
                ctx,
                agent,
                messages,
                schema,
                replica=replica,
                extra_temperature=0.3 * attempt,
                min_max_tokens=plan_reply_tokens(max_subquestions),
                attempts=1,
            )
        except ModelOutputError as exc:
            # The tokens are recorded already; the reply's text is shown back to the model.
            problems, last_output = [str(exc)], exc.output
            # A reply cut short (a runaway loop, the token limit) was still writing the plan.
            parsed = parsed or exc.output.lstrip().startswith("{")
        else:
            parsed, last_output = True, reply.model_dump_json()
            subquestions = reply.model_dump()["subquestions"]
            problems = kind_problems(subquestions)
            plan = to_task_plan(subquestions, choices)
            problems += validate_plan(plan, known_kinds=choices.kinds())
            research = [t for t in plan.tasks if t.kind == RESEARCH_KIND]
            problems += plan_text_problems(
                question,
                [(t.id, t.description) for t in research],
                fewest=max(0, fewest - (len(plan.tasks) - len(research))),
                allow_copy=max_subquestions == 1,
            )
            if not problems:
                return plan, replica.usage
            written += [t.description for t in research]
            if derive and len(usable_subquestions(question, written, max_subquestions)) >= max(
                fewest, 1
            ):
                # The replies so far hold enough usable sub-questions: no need to ask again.
                break
        messages = [*base, *_feedback(last_output, problems)]
    if derive and parsed:
        derived = await _derived_plan(ctx, question, written, max_subquestions, fewest, problems)
        if derived is not None:
            return derived, replica.usage
    raise PlanError(
        f"the lead agent gave no valid plan in {attempts} attempt{'s' if attempts != 1 else ''}; "
        f"try again, use a stronger planner model, or lower max_subquestions",
        problems=problems,
        last_output=last_output,
    )


async def _derived_plan(
    ctx: RunContext,
    question: str,
    written: Sequence[str],
    most: int,
    fewest: int,
    problems: Sequence[str],
) -> TaskPlan | None:
    """The planner's last resort: the model's usable sub-questions, then the question's own.

    Says in a ``log`` event which sub-questions were made from the question's words, and
    why (the last reply's problems). None when not even one sub-question can be made.
    """
    kept = usable_subquestions(question, written, most)
    texts = kept
    if len(kept) < max(fewest, 1):
        texts = usable_subquestions(
            question, [*kept, *derived_subquestions(question, most)], max(fewest, 1)
        )
    if not texts:
        return None
    tasks = [
        TaskSpec(
            id=f"{'q' if index <= len(kept) else 'derived'}{index}",
            description=text,
            params={"question": text},
        )
        for index, text in enumerate(texts, start=1)
    ]
    derived_ids = [t.id for t in tasks[len(kept) :]]
    await ctx.emit(
        "log",
        message=(
            f"the planner's replies gave {len(kept)} usable sub-question(s); "
            f"{len(derived_ids)} more were made from the question's own words"
        ),
        derived=derived_ids,
        problems=list(problems)[:10],
    )
    return TaskPlan(tasks=tasks)


def choices_prompt(choices: PlanChoices) -> str:
    """The planner's instructions for tool and operator sub-questions (none without choices)."""
    lines = []
    if choices.tools:
        listed = "; ".join(f"{name}({', '.join(args)})" for name, args in choices.tools.items())
        lines.append(prompts.PLANNER_TOOLS.format(tools=listed))
    if choices.operators:
        lines.append(prompts.PLANNER_OPERATORS.format(ops=", ".join(choices.operators)))
    return "".join(f"\n{line}" for line in lines)


def _feedback(output: str, problems: list[str]) -> list[ChatMessage]:
    listed = "\n".join(f"- {problem}" for problem in problems)
    return [
        ChatMessage(role="assistant", content=clip(output, 2000) or "(no output)"),
        ChatMessage(role="user", content=prompts.PLANNER_FEEDBACK.format(problems=listed)),
    ]


def _with_line(message: ChatMessage, line: str) -> ChatMessage:
    return message.model_copy(update={"content": f"{message.content}\n{line}"})


def plan_summary(plan: TaskPlan) -> list[dict[str, Any]]:
    """The plan's tasks as short dicts, for the ``plan_ready`` event."""
    return [
        {"id": task.id, "question": task.description, "depends_on": list(task.depends_on)}
        for task in plan.tasks
    ]
