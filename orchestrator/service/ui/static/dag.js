// breadth's live DAG page: a job's agent graph, its task DAG (cytoscape + dagre, left to
// right) and its report, kept current from the job's event stream (EventSource; on a
// reconnect the browser sends Last-Event-ID, so no event is seen twice or missed). The
// job's model lives in dag_state.js. Everything a model wrote is set as text; only the
// report's HTML (rendered by the service with raw HTML disabled) is inserted as HTML.
(function () {
  "use strict";

  const model = window.BreadthDagState;
  const jobId = document.body.dataset.jobId;
  const api = "/ui/api/jobs/" + encodeURIComponent(jobId);
  const FINAL = new Set(["done", "failed", "cancelled"]);
  const seconds = model.seconds;
  const branchesOf = model.branchesOf;

  // Everything the page knows; tests and curious users can read window.breadthDag.
  const state = model.createState();
  let cy = null;
  let source = null;
  window.breadthDag = { state, get cy() { return cy; } };

  function byId(id) { return document.getElementById(id); }

  function text(tag, value, className) {
    const node = document.createElement(tag);
    node.textContent = value == null ? "" : String(value);
    if (className) node.className = className;
    return node;
  }

  // -- the snapshot and the stream ---------------------------------------------------------

  async function loadSnapshot() {
    const response = await fetch(api, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) {
      window.location.href = "/ui/login?next=" + encodeURIComponent(window.location.pathname);
      return false;
    }
    if (!response.ok) {
      byId("job-error").hidden = false;
      byId("job-error").textContent = "Could not load the job (HTTP " + response.status + ").";
      return false;
    }
    const snap = await response.json();
    model.applySnapshot(state, snap);
    if (snap.report_html) {
      const report = byId("report");
      report.innerHTML = snap.report_html;  // rendered by the service, raw HTML escaped
      report.hidden = false;
    }
    render();
    return true;
  }

  function connect() {
    source = new EventSource(api + "/events");
    source.onopen = function () { setLive("live"); };
    source.onerror = function () {
      if (state.ended) return;
      if (source.readyState === EventSource.CLOSED) {
        setLive("disconnected");
        loadSnapshot();  // a lost session sends the page to the login form
      } else {
        setLive("reconnecting");
      }
    };
    for (const type of model.EVENT_TYPES) {
      source.addEventListener(type, function (message) {
        state.lastEventId = message.lastEventId || state.lastEventId;
        if (model.applyEvent(state, type, JSON.parse(message.data))) loadSnapshot();
        scheduleRender();
      });
    }
    source.addEventListener("end", function (message) {
      state.ended = true;
      source.close();
      setLive("ended");
      const data = JSON.parse(message.data);
      if (state.job && data.state) state.job.state = data.state;
      loadSnapshot();
    });
  }

  function setLive(value) {
    const live = byId("live");
    live.dataset.live = value;
    live.textContent = value;
  }

  // -- drawing -----------------------------------------------------------------------------

  let renderQueued = false;
  function scheduleRender() {
    if (renderQueued) return;
    renderQueued = true;
    window.requestAnimationFrame(function () { renderQueued = false; render(); });
  }

  function render() {
    renderJob();
    renderNodes();
    renderDag();
    renderTable();
    renderBranches();
  }

  function renderJob() {
    const job = state.job;
    if (!job) return;
    byId("question").textContent = job.question;
    const badge = byId("job-state");
    badge.textContent = job.state;
    badge.dataset.state = job.state;
    const tokens = job.usage ? job.usage.total_tokens : 0;
    byId("job-meta").textContent = "graph " + job.graph + " · " + tokens.toLocaleString() + " tokens";
    const error = byId("job-error");
    error.hidden = !job.error;
    error.textContent = job.error || "";
    const link = byId("trace-link");
    if (job.trace_url && /^https?:\/\//.test(job.trace_url)) {
      link.href = job.trace_url;
      link.hidden = false;
    }
  }

  function renderNodes() {
    const nav = byId("graph-nodes");
    if (!state.graph) return;
    nav.replaceChildren();
    state.graph.nodes.forEach(function (node, index) {
      if (index > 0) nav.appendChild(text("span", "→", "arrow"));
      const item = text("span", node.name, "node");
      const known = state.nodes.get(node.name) || { state: "pending", visits: 0 };
      item.dataset.state = known.state;
      item.dataset.node = node.name;
      const detail = (node.agent ? node.agent + " · " : "") + node.op + (known.visits > 1 ? " · visit " + known.visits : "");
      item.appendChild(text("small", detail));
      nav.appendChild(item);
    });
  }

  function label(entry) {
    const lines = [entry.id, (entry.kind || "task") + " · " + entry.state];
    const running = entry.state === "running" && entry.startedAt != null;
    const duration = running ? Date.now() / 1000 - entry.startedAt : entry.duration;
    const facts = [];
    if (duration != null) facts.push(seconds(duration));
    if (entry.tokens) facts.push(entry.tokens.toLocaleString() + " tok");
    if (entry.attempts > 1) facts.push(entry.attempts + " attempts");
    if (facts.length) lines.push(facts.join(" · "));
    return lines.join("\n");
  }

  function ensureCy() {
    if (cy || typeof window.cytoscape !== "function") return cy;
    cy = window.cytoscape({
      container: byId("dag"),
      maxZoom: 1.2,
      style: [
        { selector: "node.task", style: {
          shape: "round-rectangle", width: 170, height: 58, "background-color": "#9aa3ad",
          label: "data(label)", "text-wrap": "wrap", "text-valign": "center", "text-halign": "center",
          "font-size": 11, color: "#fff", "text-max-width": 160 } },
        { selector: "node.task.state-running", style: { "background-color": "#2f7de1", "border-width": 3, "border-color": "#9cc3f5" } },
        { selector: "node.task.state-done", style: { "background-color": "#2e9d5b" } },
        { selector: "node.task.state-reused", style: { "background-color": "#8a5cd1" } },
        { selector: "node.task.state-failed", style: { "background-color": "#d64545" } },
        { selector: "node.task.state-skipped", style: { "background-color": "#c8cdd2", color: "#1d232a" } },
        { selector: "node.task.state-cancelled", style: { "background-color": "#5f6770" } },
        { selector: "node.task.expanded", style: { "border-width": 3, "border-color": "#1d232a" } },
        { selector: "node.branch", style: {
          shape: "round-rectangle", width: 150, height: 30, "background-color": "#eef1f4",
          "border-width": 1, "border-color": "#c8cdd2", label: "data(label)", "font-size": 9,
          "text-wrap": "ellipsis", "text-max-width": 140, "text-valign": "center", color: "#1d232a" } },
        { selector: "edge", style: {
          width: 2, "line-color": "#c8cdd2", "target-arrow-color": "#c8cdd2",
          "target-arrow-shape": "triangle", "curve-style": "bezier" } },
        { selector: "edge.branch", style: { "line-style": "dashed", width: 1, "target-arrow-shape": "none" } },
      ],
    });
    cy.on("tap", "node.task", function (event) { toggle(event.target.id()); });
    return cy;
  }

  function renderDag() {
    const graph = ensureCy();
    byId("no-tasks").hidden = state.tasks.size > 0 || !state.job || !FINAL.has(state.job.state);
    if (!graph) return;
    graph.batch(function () {
      const wanted = new Set();
      for (const entry of state.tasks.values()) {
        wanted.add(entry.id);
        let node = graph.getElementById(entry.id);
        if (node.empty()) {
          node = graph.add({ group: "nodes", data: { id: entry.id, label: "" }, classes: "task" });
          state.layoutNeeded = true;
        }
        node.data("label", label(entry));
        node.classes("task state-" + entry.state + (state.expanded.has(entry.id) ? " expanded" : ""));
        for (const dep of entry.dependsOn) {
          const edgeId = "dep:" + dep + ">" + entry.id;
          wanted.add(edgeId);
          if (graph.getElementById(edgeId).empty() && !graph.getElementById(dep).empty()) {
            graph.add({ group: "edges", data: { id: edgeId, source: dep, target: entry.id } });
            state.layoutNeeded = true;
          }
        }
        if (state.expanded.has(entry.id)) {
          branchesOf(entry).forEach(function (branch, index) {
            const id = "branch:" + entry.id + ":" + index;
            wanted.add(id); wanted.add("edge:" + id);
            if (graph.getElementById(id).empty()) {
              graph.add({ group: "nodes", data: { id: id, label: branch.label + ": " + branch.text }, classes: "branch" });
              graph.add({ group: "edges", data: { id: "edge:" + id, source: entry.id, target: id }, classes: "branch" });
              state.layoutNeeded = true;
            }
          });
        }
      }
      graph.elements().forEach(function (element) {
        if (!wanted.has(element.id())) { element.remove(); state.layoutNeeded = true; }
      });
    });
    if (state.layoutNeeded) {
      state.layoutNeeded = false;
      graph.layout({ name: "dagre", rankDir: "LR", nodeSep: 18, rankSep: 60, animate: false, fit: true, padding: 20 }).run();
    }
  }

  function renderTable() {
    const body = byId("tasks").tBodies[0];
    body.replaceChildren();
    for (const entry of state.tasks.values()) {
      const row = document.createElement("tr");
      row.dataset.taskId = entry.id;
      row.dataset.state = entry.state;
      row.appendChild(text("td", entry.id));
      row.appendChild(text("td", entry.kind));
      const cell = document.createElement("td");
      const pill = text("span", entry.state, "state");
      pill.dataset.state = entry.state;
      cell.appendChild(pill);
      row.appendChild(cell);
      const running = entry.state === "running" && entry.startedAt != null;
      row.appendChild(text("td", seconds(running ? Date.now() / 1000 - entry.startedAt : entry.duration)));
      row.appendChild(text("td", entry.tokens ? entry.tokens.toLocaleString() : ""));
      row.appendChild(text("td", entry.attempts || ""));
      row.appendChild(text("td", entry.question + (entry.error ? " — " + entry.error : ""), "question"));
      const count = branchesOf(entry).length;
      const toggleCell = document.createElement("td");
      if (count) {
        const button = text("button", (state.expanded.has(entry.id) ? "hide " : "show ") + count);
        button.type = "button";
        button.className = "toggle";
        button.dataset.taskId = entry.id;
        button.addEventListener("click", function () { toggle(entry.id); });
        toggleCell.appendChild(button);
      }
      row.appendChild(toggleCell);
      body.appendChild(row);
    }
  }

  function renderBranches() {
    const section = byId("branches");
    const list = byId("branch-list");
    const shown = Array.from(state.expanded).filter(function (id) { return state.tasks.has(id); });
    section.hidden = shown.length === 0;
    list.replaceChildren();
    if (!shown.length) return;
    byId("branches-title").textContent = "Branches of " + shown.join(", ");
    for (const id of shown) {
      for (const branch of branchesOf(state.tasks.get(id))) {
        const item = document.createElement("li");
        item.dataset.taskId = id;
        item.appendChild(text("span", id + " · " + branch.label, "label"));
        item.appendChild(text("span", branch.text));
        list.appendChild(item);
      }
    }
  }

  function toggle(id) {
    if (state.expanded.has(id)) state.expanded.delete(id); else state.expanded.add(id);
    state.layoutNeeded = true;
    render();
  }

  // Running tasks' times tick.
  window.setInterval(function () {
    for (const entry of state.tasks.values()) {
      if (entry.state === "running") { scheduleRender(); return; }
    }
  }, 1000);

  loadSnapshot().then(function (ok) { if (ok) connect(); });
})();
