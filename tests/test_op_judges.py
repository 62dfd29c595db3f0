"""The judge-family operators: ``universal_vote``, ``best_of_n`` and ``tournament``."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from agents.strategies.operators import STRATEGIES
from agents.strategies.runtime import Branches, parse_params
from orchestrator.app import builtin_ops
from orchestrator.budget import Budgets
from orchestrator.context import RunContext
from orchestrator.errors import BackendUnavailable, ConfigError, ModelOutputError
from orchestrator.graph.spec import AgentSpec, GraphSpec, ModelSpec, NodeSpec
from orchestrator.models import guard
from orchestrator.models.protocol import ChatMessage, Completion, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from tests.support import graph_with, make_context, within

QUESTION = [ChatMessage(role="user", content="Which option is best?")]
Script = Callable[[GenerateRequest, int], str]


def last(request: GenerateRequest) -> str:
    return request.messages[-1].content


def numbered(prefix: str = "cand") -> Script:
    """Candidates 'cand 0', 'cand 1', ... in one request; other requests are not expected."""

    def script(request: GenerateRequest, index: int) -> str:
        assert request.json_schema is None, "a judge request reached the candidate script"
        return f"{prefix} {index}"

    return script


def shown(prompt: str, label: str) -> str:
    """The text of 'Response A' or 'Response B' in a pairwise judging prompt."""
    found = re.search(rf"Response {label}:\n(.*?)\n\n", prompt, re.DOTALL)
    assert found is not None, prompt
    return found.group(1)


def scored_response(prompt: str) -> str:
    found = re.search(r"Response:\n(.*?)\n\nRubric", prompt, re.DOTALL)
    assert found is not None, prompt
    return found.group(1)


def verdict(winner: str) -> str:
    return json.dumps({"reason": "compared", "winner": winner})


def score(value: int) -> str:
    return json.dumps({"reason": "graded", "score": value})


async def run(
    name: str,
    script: Script,
    *,
    graph: GraphSpec | None = None,
    models: dict[str, ScriptedModel] | None = None,
    budgets: Budgets | None = None,
    **raw: Any,
) -> tuple[StrategyOutcome, RunContext, ScriptedModel]:
    model = ScriptedModel(script)
    ctx, _ = make_context({"default": model, **(models or {})}, graph=graph, budgets=budgets)
    defn = STRATEGIES[name]
    params = parse_params(defn, raw, where="test")
    return await defn.run(Branches(ctx, AgentSpec()), params, QUESTION), ctx, model


# -- universal_vote ------------------------------------------------------------------------


def usc_script(pick: str) -> Script:
    def script(request: GenerateRequest, index: int) -> str:
        if "most consistent response" in last(request):
            return pick
        return f"The capital is city {index}."

    return script


async def test_usc_returns_the_candidate_the_model_picks_from_one_n_request() -> None:
    outcome, ctx, model = await run(
        "universal_vote", usc_script("The most consistent response is Response 3"), n=4
    )
    assert outcome.answer == "The capital is city 2."
    assert outcome.details["selection"] == "model" and outcome.details["picked"] == 2
    assert model.calls[0].n == 4 and len(model.calls) == 2
    selection = last(model.calls[1])
    assert all(f"Response {i}:\nThe capital is city {i - 1}." in selection for i in range(1, 5))
    assert "Which option is best?" in selection
    assert ctx.budget.usage.total_tokens > 0


async def test_usc_unreadable_pick_falls_back_to_the_first_candidate() -> None:
    outcome, _, _ = await run("universal_vote", usc_script("They all look fine to me."), n=3)
    assert outcome.answer == "The capital is city 0."
    assert outcome.details["selection"] == "unparsed"
    assert "look fine" in outcome.details["selector_reply"]


async def test_usc_skips_the_selector_when_all_candidates_agree() -> None:
    outcome, _, model = await run("universal_vote", lambda _r, _i: "Paris.", n=5)
    assert outcome.answer == "Paris."
    assert outcome.details["selection"] == "unanimous"
    assert len(model.calls) == 1


async def test_usc_selector_agent_runs_on_its_own_model() -> None:
    referee = ScriptedModel(lambda _r, _i: "The most consistent response is Response 2")
    graph = graph_with(
        agents={"referee": AgentSpec(model="big")}, models={"big": ModelSpec(model="big")}
    )
    outcome, _, model = await run(
        "universal_vote",
        usc_script("unused"),
        graph=graph,
        models={"big": referee},
        n=3,
        selector="referee",
    )
    assert outcome.answer == "The capital is city 1."
    assert len(model.calls) == 1 and len(referee.calls) == 1


async def test_usc_candidates_can_each_be_a_vote() -> None:
    counter = itertools.count()

    def script(request: GenerateRequest, _: int) -> str:
        if "most consistent response" in last(request):
            return "The most consistent response is Response 2"
        return f"so {4 + next(counter) % 2}"

    outcome, _, model = await run(
        "universal_vote",
        script,
        n=2,
        inner={"op": "vote", "params": {"n": 3, "extract": "last_number"}},
    )
    assert [call.n for call in model.calls] == [3, 3, 1]
    assert outcome.candidates == ["4", "5"]
    assert outcome.answer == "5"


# -- best_of_n -----------------------------------------------------------------------------


def judged_by(scores: dict[str, int | str]) -> Script:
    """Candidates 'cand i'; the judge scores a response by its text (a str reply as is)."""

    def script(request: GenerateRequest, index: int) -> str:
        if request.json_schema is None:
            return f"cand {index}"
        value = scores[scored_response(last(request))]
        return value if isinstance(value, str) else score(value)

    return script


async def test_best_of_n_keeps_the_candidate_the_judge_scores_highest() -> None:
    outcome, ctx, model = await run(
        "best_of_n",
        judged_by({"cand 0": 4, "cand 1": 9, "cand 2": 6}),
        n=3,
        rubric="Prefer the odd one.",
    )
    assert outcome.answer == "cand 1"
    assert outcome.details["scores"] == [4, 9, 6] and outcome.details["best"] == 1
    assert model.calls[0].n == 3
    judge_calls = model.calls[1:]
    assert len(judge_calls) == 3 and all(c.json_schema is not None for c in judge_calls)
    assert all("Prefer the odd one." in last(c) for c in judge_calls)
    assert ctx.budget.usage.total_tokens > 0


async def test_best_of_n_unreadable_scores_rank_lowest_and_all_unreadable_fail() -> None:
    outcome, _, _ = await run(
        "best_of_n", judged_by({"cand 0": "no idea", "cand 1": 2, "cand 2": "???"}), n=3
    )
    assert outcome.answer == "cand 1"
    assert outcome.details["unscored"] == 2
    with pytest.raises(ModelOutputError, match="no readable score") as info:
        await run("best_of_n", judged_by({"cand 0": "hmm", "cand 1": "hmm"}), n=2)
    assert "hmm" in info.value.output


async def test_best_of_n_scores_every_candidate_concurrently() -> None:
    barrier = asyncio.Barrier(3)

    class Gate(ScriptedModel):
        async def generate(self, request: GenerateRequest) -> Completion:
            if request.json_schema is not None:
                # All three judge calls must be in flight at once for this to pass.
                await within(barrier.wait(), "the three judge calls in flight together")
            return await super().generate(request)

    ctx, _ = make_context(Gate(judged_by({"cand 0": 1, "cand 1": 2, "cand 2": 3})))
    defn = STRATEGIES["best_of_n"]
    outcome = await defn.run(
        Branches(ctx, AgentSpec()), parse_params(defn, {"n": 3}, where="t"), QUESTION
    )
    assert outcome.answer == "cand 2"


def stepped(candidates: list[str]) -> Script:
    """Candidates from a list; the judge scores a step 9, or 2 when it says 'wrong'."""

    def script(request: GenerateRequest, index: int) -> str:
        if request.json_schema is None:
            return candidates[index]
        step = re.search(r"Next step \(step \d+\):\n(.*?)\n\nRubric", last(request), re.DOTALL)
        assert step is not None
        return score(2 if "wrong" in step.group(1) else 9)

    return script


async def test_step_scores_pick_the_candidate_without_a_wrong_step() -> None:
    sloppy = "Step one is fine.\nStep two is wrong.\nSo the answer is 7."
    careful = "Step one is fine.\nStep two holds.\nSo the answer is 5."
    outcome, _, model = await run(
        "best_of_n", stepped([sloppy, careful]), n=2, step_scores=True, step_aggregate="min"
    )
    assert outcome.answer == careful
    assert outcome.details["step_scores"] == [[9, 2, 9], [9, 9, 9]]
    assert outcome.details["scores"] == [pytest.approx(0.2), pytest.approx(0.9)]
    assert len(model.calls) == 1 + 6


async def test_step_aggregate_product_penalizes_long_chains() -> None:
    long = "\n".join(f"Step {i} holds." for i in range(5))
    short = "One step, and it is wrong."
    by_min, _, _ = await run("best_of_n", stepped([long, short]), n=2, step_scores=True)
    by_product, _, _ = await run(
        "best_of_n",
        stepped([long, "One short step."]),
        n=2,
        step_scores=True,
        step_aggregate="product",
    )
    assert by_min.answer == long
    assert by_product.answer == "One short step."
    assert by_product.details["scores"][0] == pytest.approx(0.9**5)


# -- best_of_n against a reward-model endpoint ---------------------------------------------


class _QuietServer(uvicorn.Server):
    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class RewardServer:
    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)


@asynccontextmanager
async def reward_server(
    answer: Callable[[dict[str, Any]], Response],
) -> AsyncIterator[RewardServer]:
    """A reward model on loopback: a starlette app run by uvicorn."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server_state = RewardServer(f"http://127.0.0.1:{sock.getsockname()[1]}/score")

    async def handle(request: Request) -> Response:
        body = await request.json()
        server_state.seen.append(body)
        return answer(body)

    app = Starlette(routes=[Route("/score", handle, methods=["POST"])])
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", access_log=False, lifespan="off", ws="none"
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    guard.allow_endpoint(server_state.url)
    try:
        yield server_state
    finally:
        guard.disallow_endpoint(server_state.url)
        server.should_exit = True
        await within(task, "the reward server to shut down")
        sock.close()


def by_length(body: dict[str, Any]) -> Response:
    return JSONResponse({"score": len(body["response"]) / 10})


async def test_best_of_n_ranks_by_a_reward_endpoint() -> None:
    replies = ["short", "the longest reply", "medium one"]
    async with reward_server(by_length) as server:
        outcome, _, model = await run(
            "best_of_n", lambda _r, i: replies[i], n=3, verifier="reward", reward_url=server.url
        )
    assert outcome.answer == "the longest reply"
    assert outcome.details["scores"] == [0.5, 1.7, 1.0]
    assert sorted(seen["response"] for seen in server.seen) == sorted(replies)
    assert {seen["prompt"] for seen in server.seen} == {"Which option is best?"}
    assert len(model.calls) == 1


async def test_reward_step_scores_send_each_step_prefix() -> None:
    def penalize_wrong(body: dict[str, Any]) -> Response:
        return JSONResponse({"score": 0.1 if "wrong" in body["response"] else 0.8})

    replies = ["a\nb is wrong\nc", "a\nb\nc"]
    async with reward_server(penalize_wrong) as server:
        outcome, _, _ = await run(
            "best_of_n",
            lambda _r, i: replies[i],
            n=2,
            verifier="reward",
            reward_url=server.url,
            step_scores=True,
        )
    assert outcome.answer == "a\nb\nc"
    assert outcome.details["step_scores"] == [[0.8, 0.1, 0.1], [0.8, 0.8, 0.8]]
    assert {"a", "a\nb", "a\nb\nc"} <= {seen["response"] for seen in server.seen}


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (lambda: PlainTextResponse("overloaded", status_code=503), "HTTP 503"),
        (lambda: JSONResponse({"reward": 1}), "not a score"),
        (lambda: PlainTextResponse("0.5"), "not a score"),
    ],
)
async def test_reward_endpoint_failures_name_the_url_and_fix(
    reply: Callable[[], Response], expected: str
) -> None:
    async with reward_server(lambda _body: reply()) as server:
        with pytest.raises(BackendUnavailable) as info:
            await run("best_of_n", numbered(), n=2, verifier="reward", reward_url=server.url)
    assert expected in str(info.value) and server.url in str(info.value)
    assert info.value.url == server.url


async def test_unreachable_reward_endpoint_names_the_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/score"
    guard.allow_endpoint(url)
    try:
        with pytest.raises(BackendUnavailable, match="cannot connect") as info:
            await run("best_of_n", numbered(), n=2, verifier="reward", reward_url=url)
    finally:
        guard.disallow_endpoint(url)
    assert url in str(info.value) and "reward_url" in str(info.value)


# -- tournament ----------------------------------------------------------------------------


def prefers(favourite: str, *, log: list[tuple[str, str]] | None = None) -> Script:
    """Candidates 'cand i'; the judge picks the favourite, else the lower-numbered one."""

    def script(request: GenerateRequest, index: int) -> str:
        if request.json_schema is None:
            return f"cand {index}"
        a, b = shown(last(request), "A"), shown(last(request), "B")
        if log is not None:
            log.append((a, b))
        if favourite in (a, b):
            return verdict("A" if a == favourite else "B")
        return verdict("A" if a < b else "B")

    return script


async def test_tournament_crowns_the_candidate_the_judge_prefers() -> None:
    shown_pairs: list[tuple[str, str]] = []
    outcome, _, model = await run("tournament", prefers("cand 3", log=shown_pairs), n=5)
    assert outcome.answer == "cand 3"
    assert outcome.details["winner"] == 3 and outcome.details["finished"]
    rounds = outcome.details["bracket"]
    assert len(rounds) == 3
    played = [m for r in rounds for m in r if m["b"] is not None]
    byes = [m for r in rounds for m in r if m["b"] is None]
    assert len(played) == 4 and len(byes) == 3
    assert all(m["reason"] == "consistent" for m in played)
    assert model.calls[0].n == 5
    # Each match was shown in both orders.
    assert len(shown_pairs) == 8
    assert all((b, a) in shown_pairs for a, b in shown_pairs)


def always_a(scores: dict[str, int]) -> Script:
    """A judge with total position bias: it always says 'A'; pointwise scores from a table."""

    def script(request: GenerateRequest, index: int) -> str:
        if request.json_schema is None:
            return f"cand {index}"
        if "winner" in request.json_schema["properties"]:
            return verdict("A")
        return score(scores[scored_response(last(request))])

    return script


async def test_position_bias_cancels_and_ties_are_rejudged_then_broken_by_score() -> None:
    scores = {"cand 0": 3, "cand 1": 3, "cand 2": 8, "cand 3": 3}
    outcome, _, model = await run("tournament", always_a(scores), n=4, rejudge=2)
    assert outcome.answer == "cand 2"
    matches = [m for r in outcome.details["bracket"] for m in r]
    assert all(len(m["verdicts"]) == 3 for m in matches)
    assert all(v == ["first", "first"] for m in matches for v in m["verdicts"])
    by_pair = {frozenset((m["a"], m["b"])): m["reason"] for m in matches}
    assert by_pair[frozenset((0, 3))] == "seed"
    assert by_pair[frozenset((1, 2))] == "score"
    assert by_pair[frozenset((0, 2))] == "score"
    verdict_calls = [c for c in model.calls if c.json_schema and "winner" in str(c.json_schema)]
    assert len(verdict_calls) == 3 * 3 * 2  # three matches, judged three times, both orders
    assert [c.temperature for c in verdict_calls[:2]] == [0.0, 0.0]
    assert {c.temperature for c in verdict_calls} == {0.0, 0.7}
    assert outcome.details["tie_break_scores"] == {"0": 3, "1": 3, "2": 8, "3": 3}


async def test_ties_broken_by_seed_without_scoring() -> None:
    outcome, _, model = await run(
        "tournament", always_a({}), n=4, rejudge=0, tie_break="seed", seed=7
    )
    matches = [m for r in outcome.details["bracket"] for m in r]
    assert {m["reason"] for m in matches} == {"seed"}
    assert len(model.calls) == 1 + 3 * 2
    assert outcome.answer == f"cand {matches[-1]['a']}"


async def test_all_matches_of_a_round_are_judged_concurrently() -> None:
    barrier = asyncio.Barrier(4)
    gated = 0

    class Gate(ScriptedModel):
        async def generate(self, request: GenerateRequest) -> Completion:
            nonlocal gated
            if request.json_schema is not None and gated < 4:
                # Round one is two matches in two orders: all four verdicts are in flight
                # together, or the barrier never opens.
                gated += 1
                await within(barrier.wait(), "the four verdicts of round one in flight together")
            return await super().generate(request)

    ctx, _ = make_context(Gate(prefers("cand 1")))
    defn = STRATEGIES["tournament"]
    outcome = await defn.run(
        Branches(ctx, AgentSpec()), parse_params(defn, {"n": 4}, where="t"), QUESTION
    )
    assert outcome.answer == "cand 1"
    assert gated == 4


async def test_tournament_budget_stop_returns_the_leader_so_far() -> None:
    outcome, ctx, _ = await run(
        "tournament", prefers("cand 5"), budgets=Budgets(max_tokens=400), n=8
    )
    assert outcome.stopped_by == "max_tokens"
    assert ctx.budget.usage.total_tokens >= 400
    assert outcome.details["finished"] is False
    played = [m for r in outcome.details["bracket"] for m in r]
    assert played, "the budget should allow some matches"
    assert outcome.details["winner"] in {m["winner"] for m in played}
    assert outcome.answer == f"cand {outcome.details['winner']}"


# -- budgets, params and the op --------------------------------------------------------------


@pytest.mark.parametrize("name", ["universal_vote", "best_of_n"])
async def test_budget_spent_by_the_candidates_keeps_the_first(name: str) -> None:
    outcome, _, model = await run(
        name,
        lambda _r, i: f"cand {i} " + "word " * 30,
        budgets=Budgets(max_tokens=20),
        n=3,
    )
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer.startswith("cand 0")
    assert len(model.calls) == 1


async def test_inner_budget_stop_keeps_the_candidates_drawn() -> None:
    outcome, _, model = await run(
        "best_of_n",
        judged_by({"cand 0": 5}),
        budgets=Budgets(max_tokens=1),
        n=3,
        inner={"op": "vote", "params": {"n": 1, "extract": "last_line"}},
    )
    assert outcome.stopped_by == "max_tokens"
    assert outcome.answer == "cand 0"
    assert len(model.calls) == 1


@pytest.mark.parametrize(
    ("name", "raw", "named"),
    [
        ("universal_vote", {"n": 0}, "n"),
        ("universal_vote", {"n": 257}, "n"),
        ("best_of_n", {"n": 0}, "n"),
        ("best_of_n", {"verifier": "reward"}, "reward_url"),
        ("best_of_n", {"verifier": "reward", "reward_url": "ftp://x"}, "reward_url"),
        ("best_of_n", {"reward_url": "http://x/score"}, "verifier"),
        ("best_of_n", {"step_aggregate": "median"}, "step_aggregate"),
        ("tournament", {"rejudge": 9}, "rejudge"),
        ("tournament", {"tie_break": "coin"}, "tie_break"),
        ("tournament", {"inner": {"op": "vote", "bogus": 1}}, "bogus"),
    ],
)
def test_bad_params_name_the_field_and_the_valid_range(
    name: str, raw: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(STRATEGIES[name], raw, where=f"node {name!r}")
    assert named in str(info.value) and "Valid params" in str(info.value)


@pytest.mark.parametrize(
    ("name", "param"),
    [("universal_vote", "selector"), ("best_of_n", "judge"), ("tournament", "judge")],
)
async def test_an_undefined_judge_agent_lists_the_defined_agents(name: str, param: str) -> None:
    with pytest.raises(ConfigError, match=rf"params\.{param}: agent 'nobody' is not defined"):
        raw: dict[str, Any] = {"n": 2, param: "nobody"}
        await run(name, numbered(), **raw)


def any_json(request: GenerateRequest, index: int) -> str:
    if request.json_schema is None:
        return f"The answer is {index % 2}."
    if "winner" in request.json_schema["properties"]:
        return verdict("B")
    return score(7)


@pytest.mark.parametrize("name", ["universal_vote", "best_of_n", "tournament"])
async def test_the_op_writes_answer_report_and_costs(name: str) -> None:
    ctx, log = make_context(ScriptedModel(any_json))
    update = await builtin_ops().get(name)(
        ctx, NodeSpec(op=name, params={"n": 3}), {"question": "Pick one."}
    )
    assert update["answer"] in {"The answer is 0.", "The answer is 1."}
    assert len(update["candidates"]) == 3
    assert f"`{name}`" in update["report"] and "Pick one." in update["report"]
    assert update["strategy"]["total_tokens"] == ctx.budget.usage.total_tokens > 0
    assert log.of_type("tokens")
