"""The ``peers`` operator (Learning from Peers) on scripted models."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

import pytest

from agents.strategies.operators import STRATEGIES
from agents.strategies.operators.peers import SUMMARY_PROMPT
from agents.strategies.runtime import Branches, parse_params
from orchestrator.budget import Budgets
from orchestrator.errors import ConfigError
from orchestrator.graph.spec import AgentSpec
from orchestrator.models.protocol import ChatMessage, GenerateRequest
from orchestrator.ops import StrategyOutcome
from orchestrator.testing import ScriptedModel
from tests.support import Gated, Rendezvous, last_user, make_context

PEERS = STRATEGIES["peers"]
QUESTION = [ChatMessage(role="user", content="What is 2 + 2?")]
NAMES = "ABCDEFGH"
PEER_ANSWER = re.compile(r"Peer \d+: path \w+ leans (\d+)")


def path_of(request: GenerateRequest) -> str | None:
    first = next((m.content for m in request.messages if m.role == "assistant"), None)
    return None if first is None else first.split()[1]


def peers_script(leans: dict[str, str], words: int = 12) -> Callable[[GenerateRequest, int], str]:
    """Path X opens 'path X thinks ...' and leans to leans[X]; after reading peers it
    adopts the answer most lean to, its own included."""
    counter = itertools.count()

    def script(request: GenerateRequest, _: int) -> str:
        name = path_of(request)
        if name is None:
            return f"path {NAMES[next(counter)]} " + "thinks " * words + "answer 0"
        if last_user(request) == SUMMARY_PROMPT:
            return f"path {name} leans {leans[name]}"
        seen = [*PEER_ANSWER.findall(last_user(request)), leans[name]]
        value = max(sorted(set(seen)), key=seen.count)
        return "checked " * words + f"answer {value}"

    return script


async def run(
    model: ScriptedModel | Gated, budgets: Budgets | None = None, **raw: object
) -> StrategyOutcome:
    ctx, _ = make_context(model, budgets=budgets)  # type: ignore[arg-type]
    params = parse_params(PEERS, {"extract": "last_number", **raw}, where="test")
    return await PEERS.run(Branches(ctx, AgentSpec()), params, QUESTION)


async def test_paths_pause_exchange_summaries_and_continue_with_them() -> None:
    model = ScriptedModel(peers_script({"A": "4", "B": "4", "C": "7"}))
    outcome = await run(model, n=3, interval=4, exchanges=1, k=2, routing="clustered")
    # Every path read the other two: A and B lean 4, so C (leaning 7) reads 4 twice.
    assert outcome.answer == "4"
    assert outcome.details["counts"] == {"4": 3}
    assert outcome.details["routes"] == [[[2, 3], [1, 3], [1, 2]]]
    continuations = [c for c in model.calls if "Peer 1:" in last_user(c)]
    assert len(continuations) == 3
    for call in continuations:
        own = path_of(call)
        # A path never reads its own summary; the summaries stay in its context.
        assert f"path {own} leans" not in last_user(call)
        assert [m.role for m in call.messages] == ["user", "assistant", "user"]
    summaries = [c for c in model.calls if last_user(c) == SUMMARY_PROMPT]
    assert len(summaries) == 3
    assert all(c.max_tokens == 128 for c in summaries)


async def test_a_pause_is_a_closed_stream_after_interval_tokens() -> None:
    model = ScriptedModel(peers_script(dict.fromkeys("AB", "4")))
    outcome = await run(model, n=2, interval=5, exchanges=1, k=1)
    # 5 tokens before the exchange, then the whole continuation (14 words).
    assert outcome.details["branch_tokens"] == [19, 19]


async def test_segments_and_summaries_run_concurrently() -> None:
    rendezvous = Rendezvous(3)
    scripted = ScriptedModel(peers_script(dict.fromkeys("ABC", "4")))

    def first_or_summary(request: GenerateRequest) -> bool:
        return path_of(request) is None or last_user(request) == SUMMARY_PROMPT

    model = Gated(scripted, rendezvous, first_or_summary)
    outcome = await run(model, n=3, interval=4, exchanges=1, k=1)
    assert outcome.answer == "4"
    assert rendezvous.groups == 2


async def test_more_exchanges_keep_every_peer_turn_in_context() -> None:
    model = ScriptedModel(peers_script(dict.fromkeys("AB", "4"), words=30))
    outcome = await run(model, n=2, interval=4, exchanges=2, k=1)
    assert outcome.details["exchanges"] == 2
    last = [c for c in model.calls if "Peer 1:" in last_user(c)][-1]
    roles = [m.role for m in last.messages]
    assert roles == ["user", "assistant", "user", "assistant", "user"]


async def test_a_finished_path_shares_its_ending_without_a_call() -> None:
    counter = itertools.count()

    def script(request: GenerateRequest, _: int) -> str:
        if path_of(request) is None:
            return ["short answer 9", "path B " + "thinks " * 20 + "answer 0"][next(counter)]
        if last_user(request) == SUMMARY_PROMPT:
            return "path B leans 9"
        return "so answer 9"

    model = ScriptedModel(script)
    outcome = await run(model, n=2, interval=5, exchanges=1, k=1)
    summaries = [c for c in model.calls if last_user(c) == SUMMARY_PROMPT]
    assert len(summaries) == 1
    continuation = next(c for c in model.calls if "Peer 1:" in last_user(c))
    assert "short answer 9" in last_user(continuation)
    assert outcome.answer == "9"


async def test_a_spent_budget_votes_with_what_was_written() -> None:
    model = ScriptedModel(peers_script(dict.fromkeys("ABC", "4"), words=30))
    outcome = await run(model, budgets=Budgets(max_tokens=30), n=3, interval=5)
    assert outcome.stopped_by == "max_tokens"
    # No path got to an answer: the first path's text so far is the anytime answer.
    assert outcome.answer == "path A thinks thinks thinks"
    assert not any("Peer 1:" in last_user(c) for c in model.calls)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"n": 1}, "n"),
        ({"k": 0}, "k"),
        ({"interval": 0}, "interval"),
        ({"routing": "random"}, "routing"),
        ({"summary_tokens": 8}, "summary_tokens"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_params_are_named(raw: dict[str, object], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_params(PEERS, raw, where="node 'peers'")
    assert named in str(info.value)
