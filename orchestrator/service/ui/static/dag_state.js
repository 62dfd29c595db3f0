// The live DAG page's model of a job (no DOM): what a snapshot and each event of the
// job's stream say about its graph nodes and tasks. dag.js draws it.
(function () {
  "use strict";

  const MAX_CALLS = 64;

  function createState() {
    return {
      job: null,
      graph: null,
      nodes: new Map(),      // node name -> {state, visits}
      tasks: new Map(),      // task id -> task
      expanded: new Set(),   // task ids whose branches are shown
      events: 0,
      lastEventId: null,
      ended: false,
      layoutNeeded: false,   // tasks or edges were added or removed
    };
  }

  function task(state, id) {
    let found = state.tasks.get(id);
    if (!found) {
      found = {
        id: id, kind: "", question: "", dependsOn: [], state: "pending", startedAt: null,
        duration: null, resultDuration: null, tokens: 0, attempts: 0, error: null,
        branches: [], calls: [], fromEvents: false,
      };
      state.tasks.set(id, found);
      state.layoutNeeded = true;
    }
    return found;
  }

  function setDeps(state, entry, deps) {
    const next = (deps || []).map(String);
    if (next.join("\u0000") !== entry.dependsOn.join("\u0000")) {
      entry.dependsOn = next;
      state.layoutNeeded = true;
    }
  }

  // The snapshot: the job, its graph's nodes, every task with its stored result. Events
  // already seen win over stored results (they are newer, and know "reused").
  function applySnapshot(state, snap) {
    state.job = snap.job;
    if (!state.graph) {
      state.graph = snap.graph;
      for (const node of snap.graph.nodes) {
        if (!state.nodes.has(node.name)) state.nodes.set(node.name, { state: "pending", visits: 0 });
      }
    }
    for (const item of snap.tasks) {
      const entry = task(state, item.id);
      entry.kind = item.kind || entry.kind;
      entry.question = item.question || entry.question;
      setDeps(state, entry, item.depends_on);
      entry.branches = item.branches || [];
      entry.resultDuration = item.duration_s;
      if (!entry.fromEvents && item.status) {
        entry.state = item.status;
        entry.duration = item.duration_s;
        entry.tokens = item.tokens;
        entry.attempts = item.attempts;
        entry.error = item.error || null;
      }
    }
  }

  function remember(entry, label, detail) {
    if (entry.calls.length < MAX_CALLS) entry.calls.push({ label: label, text: detail || "" });
  }

  function setJobState(state, value, error) {
    if (!state.job) return;
    state.job.state = value;
    if (error) state.job.error = error;
  }

  function seconds(value) {
    if (value == null) return "";
    return value < 10 ? value.toFixed(2) + " s" : value.toFixed(1) + " s";
  }

  // Each handler updates the state; one that returns true asks for a fresh snapshot.
  const handlers = {
    job_started(state) {
      // A new run (a resume): every task starts over as pending; reused ones say so.
      for (const entry of state.tasks.values()) {
        entry.state = "pending"; entry.startedAt = null; entry.duration = null;
        entry.fromEvents = true;
      }
      for (const node of state.nodes.values()) node.state = "pending";
      setJobState(state, "running");
    },
    node_started(state, event) {
      const node = state.nodes.get(event.data.node) || { state: "pending", visits: 0 };
      node.state = "running";
      node.visits = event.data.visit || node.visits + 1;
      state.nodes.set(event.data.node, node);
    },
    node_finished(state, event) {
      const node = state.nodes.get(event.data.node);
      if (node) node.state = "done";
    },
    plan_ready(state, event) {
      for (const item of event.data.plan || []) {
        const entry = task(state, item.id);
        entry.question = item.question || entry.question;
        setDeps(state, entry, item.depends_on);
      }
    },
    tasks_added() { return true; },  // the new tasks' dependencies come with the snapshot
    task_started(state, event) {
      const entry = task(state, event.task_id);
      entry.fromEvents = true;
      entry.state = "running";
      entry.kind = event.data.kind || entry.kind;
      entry.startedAt = event.ts;
      entry.attempts = Math.max(entry.attempts, 1);
      entry.duration = null;
    },
    task_retry(state, event) {
      const entry = task(state, event.task_id);
      entry.attempts = (event.data.attempt || entry.attempts) + 1;
    },
    task_finished(state, event) {
      const entry = task(state, event.task_id);
      entry.fromEvents = true;
      entry.state = event.data.resumed ? "reused" : "done";
      if (entry.startedAt != null) entry.duration = event.ts - entry.startedAt;
      else if (event.data.resumed) entry.duration = entry.resultDuration;
      entry.tokens = event.data.total_tokens != null ? event.data.total_tokens : entry.tokens;
      entry.attempts = event.data.attempts || entry.attempts;
    },
    task_failed(state, event) {
      const entry = task(state, event.task_id);
      entry.fromEvents = true;
      entry.state = "failed";
      if (entry.startedAt != null) entry.duration = event.ts - entry.startedAt;
      entry.attempts = event.data.attempts || entry.attempts;
      entry.error = event.data.error || null;
    },
    task_skipped(state, event) {
      const entry = task(state, event.task_id);
      entry.fromEvents = true;
      entry.state = "skipped";
      entry.error = event.data.cause || null;
    },
    tokens(state, event) {
      if (!event.task_id) return;
      const entry = task(state, event.task_id);
      const used = (event.data.prompt_tokens || 0) + (event.data.completion_tokens || 0);
      if (entry.state === "running") entry.tokens += used;
      remember(entry, "model call", used + " tokens");
    },
    execute_tool(state, event) {
      if (!event.task_id) return;
      const data = event.data;
      const label = data.tool + " (" + data.status + ", " + seconds(data.duration_s) + ")";
      remember(task(state, event.task_id), label, data.arguments);
    },
    job_finished(state) { setJobState(state, "done"); return true; },
    job_failed(state, event) { setJobState(state, "failed", event.data.error); return true; },
    job_cancelled(state) { setJobState(state, "cancelled"); return true; },
    job_released(state) { setJobState(state, "queued"); },
  };

  // Apply one event of the stream; true: the page should load a fresh snapshot.
  function applyEvent(state, type, event) {
    state.events += 1;
    const handle = handlers[type];
    return handle ? handle(state, event) === true : false;
  }

  function branchesOf(entry) {
    return entry.branches.concat(entry.calls);
  }

  window.BreadthDagState = {
    EVENT_TYPES: [
      "job_queued", "job_started", "node_started", "node_finished", "plan_ready",
      "task_started", "task_finished", "task_failed", "task_retry", "task_skipped",
      "tasks_added", "tokens", "execute_tool", "budget_reached", "job_finished",
      "job_failed", "job_cancelled", "job_released", "log",
    ],
    createState: createState,
    applySnapshot: applySnapshot,
    applyEvent: applyEvent,
    branchesOf: branchesOf,
    seconds: seconds,
  };
})();
