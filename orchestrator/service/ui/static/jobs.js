// breadth's job list: the tenant's recent jobs, newest first, refreshed every few seconds.
(function () {
  "use strict";

  function text(tag, value) {
    const node = document.createElement(tag);
    node.textContent = value == null ? "" : String(value);
    return node;
  }

  async function refresh() {
    const response = await fetch("/ui/api/jobs?limit=100", { credentials: "same-origin" });
    if (response.status === 401) {
      window.location.href = "/ui/login?next=/ui/jobs";
      return;
    }
    if (!response.ok) return;
    const data = await response.json();
    const body = document.getElementById("jobs").tBodies[0];
    body.replaceChildren();
    for (const job of data.jobs) {
      const row = document.createElement("tr");
      row.dataset.jobId = job.id;
      const link = text("a", job.id);
      link.href = "/ui/jobs/" + encodeURIComponent(job.id);
      const first = document.createElement("td");
      first.appendChild(link);
      row.appendChild(first);
      const cell = document.createElement("td");
      const pill = text("span", job.state);
      pill.className = "state";
      pill.dataset.state = job.state;
      cell.appendChild(pill);
      row.appendChild(cell);
      row.appendChild(text("td", job.graph));
      row.appendChild(text("td", job.tasks_done + "/" + job.tasks_total));
      row.appendChild(text("td", job.usage.total_tokens.toLocaleString()));
      row.appendChild(text("td", new Date(job.created_at * 1000).toLocaleString()));
      row.appendChild(text("td", job.question));
      body.appendChild(row);
    }
    document.getElementById("no-jobs").hidden = data.jobs.length > 0;
  }

  const tenant = document.body.dataset.tenant;
  if (tenant) document.getElementById("tenant").textContent = "tenant " + tenant;
  refresh();
  window.setInterval(refresh, 5000);
})();
