"""How a job's model and tool calls are wrapped: recorded, cached or replayed, and observed.

Every job's models and tools go through one ``CallLog`` (``orchestrator.cache``): each
call is recorded for ``breadth replay``; with the ``cache`` setting results are reused
across jobs; with ``replay_of`` every call is answered from that job's recording, no
model and no tool behind them (the tools' names and schemas come from the recorded
job's ``tools`` artifact). Tools are wrapped outermost by ``ObservedToolbox``: limits,
timeouts, one ``execute_tool`` event per call.
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.cache import CallLog, CallPolicy, LoggedReplica, LoggedToolbox, RecordedToolbox
from orchestrator.cache.replica import NoModel
from orchestrator.cache.toolbox import TOOLS_ARTIFACT, toolbox_description
from orchestrator.errors import ConfigError
from orchestrator.events import EventSink
from orchestrator.graph.spec import GraphSpec
from orchestrator.models.protocol import Replica
from orchestrator.settings import Settings
from orchestrator.store.base import Store
from orchestrator.tool_calls import ObservedToolbox, SpanHook
from orchestrator.toolbox import Toolbox


def call_log(settings: Settings, store: Store, job_id: str) -> CallLog:
    policy = CallPolicy(
        cache=settings.cache, cache_sampled=settings.cache_sampled, replay_of=settings.replay_of
    )
    return CallLog(store, job_id, policy)


def logged_models(models: Mapping[str, Replica], log: CallLog) -> dict[str, Replica]:
    """Each of the job's models behind its call log (a replay's have no model behind them)."""
    replaying = log.policy.replay_of is not None
    return {
        alias: LoggedReplica(NoModel() if replaying else model, log, alias=alias)
        for alias, model in models.items()
    }


def replay_models(spec: GraphSpec) -> dict[str, Replica]:
    """Placeholders for a replayed job's models: none is ever called."""
    return {name: NoModel() for name in {*spec.models, "default"}}


async def job_toolbox(
    tools: Toolbox | None,
    log: CallLog,
    events: EventSink | None,
    *,
    store: Store,
    job_id: str,
    span: SpanHook | None = None,
) -> Toolbox:
    """The toolbox the job's ops see: recorded (or replayed), limited and observed
    (``span``: a span per call, when tracing)."""
    replay_of = log.policy.replay_of
    if replay_of is not None:
        recorded = await store.get_artifact(replay_of, TOOLS_ARTIFACT)
        if recorded is None:
            raise ConfigError(
                f"job {replay_of!r} has no recorded tools (it ran before breadth recorded calls, "
                f"or is not in namespace {store.namespace!r}); it cannot be replayed"
            )
        base: Toolbox = RecordedToolbox.from_artifact(recorded)
    elif tools is None:
        raise ConfigError("a job needs its tools (or a recording to replay them from)")
    else:
        base = tools
    await store.put_artifact(job_id, TOOLS_ARTIFACT, toolbox_description(base))
    return ObservedToolbox(LoggedToolbox(base, log), events=events, job_id=job_id, span=span)
