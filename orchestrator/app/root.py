"""The composition root: the one engine module that wires ``agents`` and ``tools`` in.

Everything a job runs on is built here from plain ``Settings``: the store, the default
model (the embedded model or a pool over model servers), the executor, the op registry
(every built-in op and strategy), the tools and the task handlers by kind. The CLI, the
service and the worker all go through ``Runtime``; another process (a worker, a Ray task)
rebuilds a job's context from its ``JobRef`` with ``rebuild_context``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from agents import TASK_HANDLERS, register_ops
from orchestrator.app.job_calls import call_log, job_toolbox, logged_models, replay_models
from orchestrator.app.job_tools import builtin_tools, open_job_tools
from orchestrator.budget import BudgetTracker
from orchestrator.context import RunContext
from orchestrator.errors import ConfigError
from orchestrator.events import Event, EventSink
from orchestrator.executors.base import Executor
from orchestrator.executors.local import LocalExecutor
from orchestrator.executors.remote import is_remote, release_job, shippable, tail_events
from orchestrator.graph.loader import load_graph, load_graph_text
from orchestrator.graph.resolve import resolve_graph
from orchestrator.graph.spec import GraphSpec
from orchestrator.job import JobRecord, JobRequest
from orchestrator.models.factory import build_model
from orchestrator.models.protocol import Replica
from orchestrator.models.ray_replica import FleetScope
from orchestrator.ops import OpRegistry
from orchestrator.runner import EventListener, StoreEventSink, run_job, start_job
from orchestrator.settings import Settings
from orchestrator.store.base import Store
from orchestrator.store.factory import open_settings_store
from orchestrator.tasks import JobRef, register_live, unregister_live
from orchestrator.toolbox import Toolbox
from tools import ToolRegistry

if TYPE_CHECKING:
    from orchestrator.tracing import Tracing

# The tools every job has (``builtin_tools``), for checking graph files without building them.
BUILTIN_TOOL_NAMES = ("search", "read", "fetch", "python", "calculator")


def builtin_ops() -> OpRegistry:
    """The op registry with every built-in op and strategy (plan, research, vote, ...)."""
    registry = OpRegistry()
    register_ops(registry)
    return registry


def job_tools(corpus: str | None, settings: Settings | None = None) -> ToolRegistry:
    """The built-in tools of a job: ``search``/``read`` over its corpus (default: the
    built-in one), ``fetch``, ``python`` and ``calculator`` (a graph's MCP servers add
    theirs when the job runs: ``open_job_tools``)."""
    return builtin_tools(settings or Settings(), corpus)


def builtin_tool_names() -> list[str]:
    """The names of the tools every job has (what graph files may list under ``tools:``)."""
    return list(BUILTIN_TOOL_NAMES)


def load_job_graph(name_or_path: str | Path, ops: OpRegistry) -> GraphSpec:
    """The graph a job asks for, checked against the ops and tools breadth has."""
    return load_graph(
        resolve_graph(name_or_path),
        known_ops=ops.names(),
        known_tools=builtin_tool_names(),
        param_checks=ops.param_checks(),
    )


def load_request_graph(request: JobRequest, ops: OpRegistry) -> GraphSpec:
    """The graph a job request runs: named or sent as YAML text, with its budget overrides."""
    if request.graph_yaml is not None:
        spec = load_graph_text(
            request.graph_yaml,
            file=f"<graph {request.graph}>",
            known_ops=ops.names(),
            known_tools=builtin_tool_names(),
            param_checks=ops.param_checks(),
        )
    else:
        spec = load_job_graph(request.graph, ops)
    if request.budgets is not None:
        spec = spec.model_copy(update={"budgets": request.budgets.apply(spec.budgets)})
    return spec


def job_models(
    spec: GraphSpec,
    default: Replica,
    *,
    tracing: Tracing | None,
    fleet: FleetScope | None = None,
) -> dict[str, Replica]:
    """One replica per model the graph names: its own servers, its Ray-hosted replicas
    (``fleet`` says whose, see ``models.ray_replica``), or the job's default model.
    """
    models: dict[str, Replica] = {}
    for name, model_spec in spec.models.items():
        if model_spec.ray is not None:
            from orchestrator.models.ray_replica import ray_fleet

            scope = fleet or FleetScope(job_id="adhoc", owner=True)
            models[name] = _traced(ray_fleet(name, model_spec.ray, scope), tracing)
        elif model_spec.urls:
            models[name] = _traced(
                build_model(model_spec.urls, model_name=model_spec.model), tracing
            )
        else:
            models[name] = default
    models.setdefault("default", default)
    return models


def _traced(model: Replica, tracing: Tracing | None) -> Replica:
    return model if tracing is None else tracing.model(model)


def build_executor(settings: Settings) -> Executor:
    """The executor the settings name: in process, or on Ray (joining ``ray_address``)."""
    if settings.executor == "local":
        return LocalExecutor()
    if settings.executor == "ray":
        from orchestrator.executors.ray_executor import RayExecutor

        return RayExecutor(address=settings.ray_address)
    raise ConfigError(f"executor {settings.executor!r} is unknown; use --executor local or ray")


class Runtime:
    """What one process needs to run jobs, built once from ``Settings`` and shared by its jobs.

    Open it with ``async with await Runtime.open(settings) as runtime``; a store or a model
    given to ``open`` stays the caller's to close.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store,
        model: Replica,
        executor: Executor,
        ops: OpRegistry,
        owned: Sequence[Any] = (),
        tracing: Tracing | None = None,
        owns_tracing: bool = True,
    ) -> None:
        self.settings = settings
        self.store = store
        self.model = model
        self.executor = executor
        self.ops = ops
        self._owned = list(owned)
        self.tracing = tracing
        self._owns_tracing = owns_tracing

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        store: Store | None = None,
        model: Replica | None = None,
        tracing: Tracing | None = None,
    ) -> Runtime:
        """Build the store, the default model, the executor and the ops from ``settings``.

        With an OTLP endpoint in the settings (or a ``tracing`` given, which stays the
        caller's to shut down), the model, executor, ops and tools are traced.
        """
        given = tracing
        if tracing is None and settings.traced:
            from orchestrator.tracing import open_tracing

            tracing = open_tracing(settings)
        owned: list[Any] = []
        try:
            # What only checks settings first: a bad model URL opens no connection.
            if model is None:
                model = build_model(list(settings.model_urls), model_name=settings.model_name)
                owned.append(model)
            executor = build_executor(settings)
            owned.append(executor)
            if store is None:
                store = await open_settings_store(settings)
                owned.append(store)
        except BaseException:
            for resource in reversed(owned):
                await resource.aclose()
            if tracing is not None and given is None:
                tracing.shutdown()
            raise
        ops = builtin_ops()
        if tracing is not None:
            executor, ops = tracing.executor(executor), tracing.ops(ops)
        return cls(
            settings,
            store=store,
            model=_traced(model, tracing),
            executor=executor,
            ops=ops,
            owned=owned,
            tracing=tracing,
            owns_tracing=given is None,
        )

    def scoped(self, namespace: str) -> Runtime:
        """This runtime on another namespace of the same store (a tenant's): same model,
        executor and ops; closing it closes nothing the two share.
        """
        settings = self.settings.model_copy(update={"namespace": namespace})
        return Runtime(
            settings,
            store=self.store.with_namespace(namespace),
            model=self.model,
            executor=self.executor,
            ops=self.ops,
            tracing=self.tracing,
            owns_tracing=False,
        )

    async def aclose(self) -> None:
        """Close what this runtime opened (executor, model, store) and flush the traces."""
        for resource in reversed(self._owned):
            await resource.aclose()
        self._owned.clear()
        if self.tracing is not None and self._owns_tracing:
            self.tracing.shutdown()

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def load_graph(self, name_or_path: str | Path) -> GraphSpec:
        return load_job_graph(name_or_path, self.ops)

    async def start(self, request: JobRequest | None, *, resume: str | None = None) -> JobRecord:
        """A new running job for ``request``, or the stored job ``resume`` reopened."""
        if request is not None:
            self.load_request(request)  # a bad graph fails before anything is stored
        return await start_job(self.store, request, resume)

    def load_request(self, request: JobRequest) -> GraphSpec:
        """The graph ``request`` runs on, checked (``GraphSpecError`` / ``ConfigError``)."""
        return load_request_graph(request, self.ops)

    async def run(
        self,
        record: JobRecord,
        *,
        listeners: Sequence[EventListener] = (),
        released: Callable[[], bool] | None = None,
    ) -> JobRecord:
        """Run a started job to its end (done, failed or cancelled) and return its record.

        The job's MCP servers start here and stop when it ends; every model and tool call
        is recorded (and, per the settings, cached or replayed). ``released``: asked when
        the run is cancelled; true means the job was handed back to the queue (a worker
        stopping), so it is stored as queued, not cancelled.
        """
        spec = self.load_request(record.request)
        # Tasks on a remote executor emit to the store's stream from their own process: the
        # listeners then read that stream, so they see every event, in stream order.
        remote = is_remote(self.executor)
        sink = StoreEventSink(self.store, [] if remote else list(listeners))
        replaying = self.settings.replay_of is not None
        fleet = FleetScope(record.id, owner=True, ray_address=self.settings.ray_address)
        models = (
            replay_models(spec)
            if replaying
            else job_models(spec, self.model, tracing=self.tracing, fleet=fleet)
        )
        corpus = record.request.corpus or self.settings.corpus
        tail = tail_events(self.store, record.id, listeners) if remote and listeners else None
        try:
            async with contextlib.AsyncExitStack() as stack:
                tools: Toolbox | None = None
                if not replaying:
                    tools = await stack.enter_async_context(
                        open_job_tools(self.settings, spec, corpus)
                    )
                ctx = await self.job_context(record, spec, models, sink, tools)
                register_live(ctx)
                try:
                    async with (
                        self._job_span(record, spec.name),
                        tail or contextlib.nullcontext(),
                    ):
                        return await run_job(record, ctx, released=released)
                finally:
                    unregister_live(record.id)
                    await release_job(self.executor, record.id)
        except ConfigError as exc:
            # A tool that cannot start (an MCP server) fails the job, not the process.
            record.state, record.error = "failed", str(exc)
            await self.store.put_job(record)
            await sink.emit(Event(type="job_failed", job_id=record.id, data={"error": str(exc)}))
            return record
        finally:
            # The graph's own model pools belong to this job; the default model to the runtime.
            for replica in {id(m): m for m in models.values() if m is not self.model}.values():
                await replica.aclose()

    @contextlib.asynccontextmanager
    async def _job_span(self, record: JobRecord, graph_name: str) -> AsyncIterator[None]:
        """The job's span (when tracing), continuing the job's trace; a job without a trace
        context yet keeps this run's, so every later run joins the same trace."""
        if self.tracing is None:
            yield
            return
        with self.tracing.job(
            record.id, graph_name, record.request.graph, parent=record.traceparent
        ) as span:
            if record.traceparent is None:
                from orchestrator.tracing import traceparent_of

                record.traceparent = traceparent_of(span)
                if record.traceparent is not None:
                    await self.store.put_job(record)
            yield

    async def research(
        self,
        request: JobRequest | None,
        *,
        resume: str | None = None,
        listeners: Sequence[EventListener] = (),
        on_start: Callable[[JobRecord], None] | None = None,
    ) -> JobRecord:
        """Start (or resume) a job and run it to its end; ``on_start`` gets the started record."""
        record = await self.start(request, resume=resume)
        if on_start is not None:
            on_start(record)
        return await self.run(record, listeners=listeners)

    def context(
        self,
        record: JobRecord,
        spec: GraphSpec,
        models: Mapping[str, Replica],
        events: EventSink,
        tools: Toolbox | None = None,
    ) -> RunContext:
        """The context of one job: its graph, models, tools, budget, events and handlers.

        ``tools`` default to the job's built-in tools, unwrapped (``job_context`` wraps
        models and tools in the job's call log).
        """
        ref = JobRef(record.id, shippable(self.settings), spec, record.request, rebuild_context)
        corpus = record.request.corpus or self.settings.corpus
        return RunContext(
            job_id=record.id,
            question=record.request.question,
            graph=spec,
            models=models,
            executor=self.executor,
            budget=BudgetTracker(spec.budgets),
            events=events,
            ops=self.ops,
            store=self.store,
            tools=tools if tools is not None else job_tools(corpus, self.settings),
            handlers=TASK_HANDLERS,
            source=ref,
        )

    async def job_context(
        self,
        record: JobRecord,
        spec: GraphSpec,
        models: Mapping[str, Replica],
        events: EventSink,
        tools: Toolbox | None,
    ) -> RunContext:
        """The context of a running job: its models and tools behind its call log."""
        log = call_log(self.settings, self.store, record.id)
        spans = self.tracing.tool_spans() if self.tracing is not None else None
        toolbox = await job_toolbox(
            tools, log, events, store=self.store, job_id=record.id, span=spans
        )
        return self.context(record, spec, logged_models(models, log), events, toolbox)


async def rebuild_context(ref: JobRef) -> RunContext:
    """A job's context rebuilt from its ``JobRef`` in another process (a worker, a Ray task).

    Its tasks run in this process (a local executor); its events go to the job's stream in
    the store, and its tokens are counted against a budget of its own, which the job's
    process adds up from the task results. Its calls are recorded like the job's own; its
    tools are the built-in ones (a graph's MCP servers run in the job's process only).
    With an OTLP endpoint in the settings its models, ops and tools are traced by this
    process's tracing, continuing the trace context each task brings along.
    """
    settings = ref.settings
    tracing = None
    if settings.traced:
        from orchestrator.tracing import process_tracing

        tracing = process_tracing(settings)
    store = await open_settings_store(settings)
    events = StoreEventSink(store)
    if settings.replay_of is not None:
        models = replay_models(ref.graph)
        tools: Toolbox | None = None
    else:
        model = _traced(
            build_model(list(settings.model_urls), model_name=settings.model_name), tracing
        )
        models = job_models(
            ref.graph,
            model,
            tracing=tracing,
            fleet=FleetScope(ref.job_id, owner=False, ray_address=settings.ray_address),
        )
        tools = job_tools(ref.request.corpus or settings.corpus, settings)
    log = call_log(settings, store, ref.job_id)
    return RunContext(
        job_id=ref.job_id,
        question=ref.request.question,
        graph=ref.graph,
        models=logged_models(models, log),
        executor=LocalExecutor(),
        budget=BudgetTracker(ref.graph.budgets),
        events=events,
        ops=tracing.ops(builtin_ops()) if tracing is not None else builtin_ops(),
        store=store,
        tools=await job_toolbox(
            tools,
            log,
            events,
            store=store,
            job_id=ref.job_id,
            span=tracing.tool_spans() if tracing is not None else None,
        ),
        handlers=TASK_HANDLERS,
        source=ref,
    )
