"""``atoms``: Atom of Thoughts, decompose into a DAG, solve the free atoms, contract, repeat.

Atom of Thoughts (Teng et al., 2025, "Atom of Thoughts for Markov LLM Test-Time
Scaling", arXiv:2502.12018). Each round decomposes the current question into a DAG of
sub-questions (structured output), solves every independent sub-question concurrently,
and contracts the question into a simpler self-contained one that states their answers
as facts; the next round sees only that question (Markov). Rounds stop when a
decomposition has one sub-question (atomic), when nothing depends on anything (all
solved), or after ``max_rounds`` (and never more than the first DAG's depth). The last
question is answered (one sample or an ``inner`` strategy). With ``ensemble`` the
original question is also answered directly, concurrently with the rounds, and a judge
picks between the direct and the atomic answer when they differ.

Where ours differs, and why: the paper's decomposition call also answers the
sub-questions; here each independent atom is its own request, all at once, so the width
of a decomposition is spent in parallel and each atom can be answered by an ``inner``
strategy. The paper's ensemble also weighs the first decomposition's own solution; ours
weighs the direct answer and the final atomic answer, which is what the judge can read
without the decomposition's reasoning.
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.common import clip
from agents.strategies.atoms_dag import (
    Atom,
    atom_prompt,
    contract_prompt,
    contracted_question,
    dag_depth,
    decompose_prompt,
    decomposition_schema,
    dependent_atoms,
    independent_atoms,
    is_atomic,
    judge_prompt,
    parse_decomposition,
)
from agents.strategies.extract import ExtractMethod, check_extraction, extract_answer
from agents.strategies.prompting import ask
from agents.strategies.runtime import (
    Branches,
    StrategyDef,
    gather_within_budget,
    question_of,
    run_all,
)
from agents.strategies.vote_tally import format_candidates_for_selection, parse_selection
from orchestrator import BudgetExceeded, ChatMessage, InnerOp, StrategyOutcome


class AtomsParams(BaseModel):
    """Settings of ``atoms``."""

    model_config = ConfigDict(extra="forbid")

    max_rounds: int = Field(
        default=2, ge=1, le=6, description="Most decompose-contract rounds (Markov steps)."
    )
    max_atoms: int = Field(
        default=4, ge=2, le=12, description="Most sub-questions in one decomposition."
    )
    decomposer: str | None = Field(
        default=None, description="Agent that decomposes and contracts; None: the node's agent."
    )
    ensemble: bool = Field(
        default=True,
        description="Also answer the question directly (concurrently) and let a judge pick.",
    )
    judge: str | None = Field(
        default=None, description="Agent that picks (ensemble); None: the node's agent."
    )
    extract: ExtractMethod = Field(
        default="last_line", description="How to compare the two answers (equal: no judge)."
    )
    pattern: str | None = Field(default=None, description="Regex for extract: regex.")
    field: str | None = Field(default=None, description="JSON field for extract: json_field.")
    answer_chars: int = Field(
        default=600, ge=50, le=20_000, description="Each atom's answer is cut to this."
    )
    inner: InnerOp | None = Field(
        default=None, description="Strategy that answers the atoms and the final question."
    )
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Temperature of the answers."
    )

    @model_validator(mode="after")
    def _consistent(self) -> AtomsParams:
        check_extraction(self.extract, pattern=self.pattern, field=self.field)
        if self.judge is not None and not self.ensemble:
            raise ValueError(f"judge {self.judge!r} is only used with ensemble: true")
        return self


@dataclass
class _Progress:
    """What the rounds reached, kept when the budget stops them (anytime answer)."""

    question: str
    rounds: list[dict[str, Any]] = field(default_factory=list)
    limit: int = 0
    final: str | None = None


def _atom_details(atoms: list[Atom], answers: dict[int, str]) -> list[dict[str, Any]]:
    return [
        {
            "question": atom.question,
            "depends_on": [d + 1 for d in atom.depends_on],
            "answer": answers.get(atom.index),
        }
        for atom in atoms
    ]


async def _rounds(
    branches: Branches,
    decomposer: Branches,
    params: AtomsParams,
    messages: list[ChatMessage],
    progress: _Progress,
) -> str:
    """Decompose, solve the free atoms concurrently, contract; then answer the last question."""
    progress.limit = params.max_rounds
    number = 0
    while number < progress.limit:
        question = progress.question
        reply = await decomposer.text(
            ask(messages, decompose_prompt(question, params.max_atoms)),
            json_schema=decomposition_schema(params.max_atoms),
        )
        atoms = parse_decomposition(reply, params.max_atoms)
        if number == 0:
            progress.limit = min(params.max_rounds, max(1, dag_depth(atoms)))
        number += 1
        if is_atomic(atoms):
            progress.rounds.append({"question": question, "atoms": _atom_details(atoms, {})})
            break
        free, rest = independent_atoms(atoms), dependent_atoms(atoms)
        solved = await run_all(
            [
                branches.solve(
                    ask(messages, atom_prompt(question, atom)),
                    params.inner,
                    temperature=params.temperature,
                )
                for atom in free
            ]
        )
        answers = {
            atom.index: clip(answer, params.answer_chars)
            for atom, answer in zip(free, solved, strict=True)
        }
        contracted = contracted_question(
            await decomposer.text(
                ask(
                    messages,
                    contract_prompt(question, [(a, answers[a.index]) for a in free], rest),
                )
            ),
            question,
        )
        progress.rounds.append(
            {
                "question": question,
                "atoms": _atom_details(atoms, answers),
                "contracted": contracted,
            }
        )
        progress.question = contracted
        if not rest:
            break
    progress.final = await branches.solve(
        ask(messages, progress.question), params.inner, temperature=params.temperature
    )
    return progress.final


def _judge_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "choice": {"type": "integer", "minimum": 1, "maximum": 2},
            "reason": {"type": "string", "maxLength": 300},
        },
        "required": ["choice"],
    }


async def _pick(
    judge: Branches, messages: list[ChatMessage], direct: str, atomic: str, limit: int
) -> int | None:
    """The 0-based pick of the judge between the direct (0) and the atomic (1) answer."""
    shown = format_candidates_for_selection([clip(direct, limit), clip(atomic, limit)])
    reply = await judge.text(
        ask(messages, judge_prompt(question_of(messages), shown)),
        json_schema=_judge_schema(),
        temperature=0.0,
    )
    picked = extract_answer(reply, "json_field", field="choice")
    if picked in ("1", "2"):
        return int(picked) - 1
    return parse_selection(reply, 2)


async def run_atoms(
    branches: Branches, params: AtomsParams, messages: list[ChatMessage]
) -> StrategyOutcome:
    decomposer = branches.or_agent(params.decomposer, param="params.decomposer")
    judge = branches.or_agent(params.judge, param="params.judge")
    progress = _Progress(question=question_of(messages))
    jobs: list[Coroutine[Any, Any, str]] = [
        _rounds(branches, decomposer, params, messages, progress)
    ]
    if params.ensemble:
        jobs.append(_direct(branches, params, messages))
    results, stopped = await gather_within_budget(jobs)
    direct = results[1] if params.ensemble else None
    atomic = progress.final
    details: dict[str, Any] = {
        "rounds": progress.rounds,
        "rounds_run": len(progress.rounds),
        "round_limit": progress.limit,
        "final_question": progress.question,
        "atomic_answer": atomic,
        "direct_answer": direct,
    }
    answer, chosen = atomic, "atoms"
    if atomic is None:
        answer, chosen = direct, "direct"
    elif direct is not None and stopped is None and _differ(direct, atomic, params):
        try:
            picked = await _pick(judge, messages, direct, atomic, params.answer_chars * 4)
        except BudgetExceeded as exc:
            stopped, picked = exc, None
        if picked == 0:
            answer, chosen = direct, "direct"
        details["judged"] = True
    if answer is None:
        assert stopped is not None  # without a stop both answers exist
        raise stopped
    details["chosen"] = chosen
    return StrategyOutcome(
        answer=answer.strip(),
        candidates=[a for a in (atomic, direct) if a is not None],
        details=details,
        stopped_by=stopped.budget if stopped is not None else None,
    )


async def _direct(branches: Branches, params: AtomsParams, messages: list[ChatMessage]) -> str:
    return await branches.solve(messages, params.inner, temperature=params.temperature)


def _differ(direct: str, atomic: str, params: AtomsParams) -> bool:
    """Whether the two answers' extracted finals differ (unreadable ones count as different)."""
    found = [
        extract_answer(text, params.extract, pattern=params.pattern, field=params.field)
        for text in (direct, atomic)
    ]
    return found[0] is None or found[0] != found[1]


ATOMS = StrategyDef(
    name="atoms",
    params=AtomsParams,
    run=run_atoms,
    paper="Teng et al. 2025, Atom of Thoughts for Markov LLM Test-Time Scaling (arXiv:2502.12018)",
    summary="Decompose the question into a DAG of sub-questions, solve the independent ones "
    "concurrently, contract into a simpler question; repeat, then answer",
)
