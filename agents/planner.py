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
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from agents import prompts
from agents.common import clip, generate_json, recording_replica
from orchestrator.dag import validate_plan
from orchestrator.errors import ModelOutputError, PlanError
from orchestrator.graph.context import RunContext
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import ChatMessage
from orchestrator.plan import TaskPlan, TaskSpec
from orchestrator.usage import TokenUsage

RESEARCH_KIND = "research"
# No double quote or backslash: a grammar built from the pattern would let them break the JSON.
QUESTION_PATTERN = r'^[A-Za-z][^"\\\n]{8,160}[?]$'
ID_CHARS = 24
QUESTION_CHARS = 162
_NOT_ID = re.compile(r"[^a-z0-9_.\-]+")


class IndependentSubQuestion(BaseModel):
    """One sub-question of a plan without dependencies (the planner's last resort)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=ID_CHARS)
    # A question (ending with '?') that starts with a letter: a grammar-constrained small
    # model cannot answer with digits or punctuation, and a strong one writes this anyway.
    question: str = Field(pattern=QUESTION_PATTERN)


def plan_reply_model(max_subquestions: int, *, dependencies: bool = True) -> type[BaseModel]:
    """The reply schema: 1..``max_subquestions`` sub-questions, with or without depends_on."""
    item: Any = IndependentSubQuestion
    if dependencies:
        item = create_model(
            "SubQuestion",
            __base__=IndependentSubQuestion,
            depends_on=(
                list[Annotated[str, Field(max_length=ID_CHARS)]],
                Field(default=[], min_length=0, max_length=max_subquestions),
            ),
        )
    return create_model(
        "ResearchPlan",
        __config__=ConfigDict(extra="forbid"),
        subquestions=(list[item], Field(min_length=1, max_length=max_subquestions)),
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


def to_task_plan(subquestions: Sequence[Mapping[str, Any]]) -> TaskPlan:
    """The research tasks of a reply: ids slugified, a sub-question's text its description.

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
        tasks.append(
            TaskSpec(
                id=task_id,
                kind=RESEARCH_KIND,
                description=question,
                depends_on=deps,
                params={"question": question},
            )
        )
    return TaskPlan(tasks=tasks)


async def plan_research(
    ctx: RunContext,
    agent: AgentSpec,
    question: str,
    *,
    max_subquestions: int,
    attempts: int = 3,
) -> tuple[TaskPlan, TokenUsage]:
    """A valid plan of research tasks for ``question``, and the tokens spent on it.

    Every invalid reply is shown to the model with its problems; each retry samples a
    little hotter so as not to repeat itself. When more than one attempt is allowed,
    the last one asks for independent sub-questions (no depends_on, so no cycle is
    possible): a model that cannot write a valid DAG still gets the job researched.
    Each attempt's tokens are recorded against the job as they are spent. Raises
    ``PlanError`` with the last problems and output when no attempt gives a valid plan.
    """
    system = agent.system or prompts.PLANNER_SYSTEM.format(max_subquestions=max_subquestions)
    base = [
        ChatMessage(role="system", content=system),
        ChatMessage(role="user", content=prompts.PLANNER_USER.format(question=question)),
    ]
    messages = base
    replica = recording_replica(ctx, agent)
    problems: list[str] = []
    last_output = ""
    for attempt in range(attempts):
        independent = attempts > 1 and attempt == attempts - 1
        if independent:
            messages = [*messages[:-1], _with_line(messages[-1], prompts.PLANNER_INDEPENDENT)]
        try:
            reply, _ = await generate_json(
                ctx,
                agent,
                messages,
                plan_reply_model(max_subquestions, dependencies=not independent),
                replica=replica,
                extra_temperature=0.3 * attempt,
                min_max_tokens=plan_reply_tokens(max_subquestions),
                attempts=1,
            )
        except ModelOutputError as exc:
            # The tokens are recorded already; the reply's text is shown back to the model.
            problems, last_output = [str(exc)], exc.output
        else:
            last_output = reply.model_dump_json()
            plan = to_task_plan(reply.model_dump()["subquestions"])
            problems = validate_plan(plan, known_kinds={RESEARCH_KIND})
            if not problems:
                return plan, replica.usage
        messages = [*base, *_feedback(last_output, problems)]
    raise PlanError(
        f"the lead agent gave no valid plan in {attempts} attempt{'s' if attempts != 1 else ''}; "
        f"try again, use a stronger planner model, or lower max_subquestions",
        problems=problems,
        last_output=last_output,
    )


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
