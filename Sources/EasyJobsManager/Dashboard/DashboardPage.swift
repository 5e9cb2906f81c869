/// The dashboard at `/`: hosts, queues, tasks and schedules, jobs with server-side paging, a
/// job's page with its pipeline graph. Plain HTML and JavaScript served by the manager: no
/// build step, nothing fetched from elsewhere. It refreshes itself every two seconds.
enum DashboardPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>EasyJobs</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 13px/1.45 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
  header { background: #1d2430; color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: center; }
  header a { color: #9cc4ff; } header input { width: 170px; }
  main { padding: 12px 20px; display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
  section { background: #fff; border: 1px solid #d9dde3; border-radius: 6px; padding: 10px 12px; overflow: auto; }
  section.wide { grid-column: 1 / -1; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eef0f3; vertical-align: top; }
  th { color: #5a6473; font-weight: 600; }
  .status { border-radius: 10px; padding: 0 7px; color: #fff; font-size: 12px; }
  .completed { background: #2f855a; } .failed { background: #c53030; } .running { background: #2b6cb0; }
  .queued { background: #718096; } .waiting { background: #b7791f; } .cancelled { background: #4a5568; }
  .ok { color: #2f855a; } .bad { color: #c53030; } .muted { color: #718096; }
  a.job { cursor: pointer; color: #2b6cb0; font-family: ui-monospace, monospace; }
  pre { background: #1d2430; color: #e2e8f0; padding: 6px 8px; border-radius: 4px; white-space: pre-wrap; max-height: 260px; overflow: auto; }
  button { padding: 2px 10px; border: 0; border-radius: 4px; background: #2b6cb0; color: #fff; cursor: pointer; margin-right: 4px; }
  button.danger { background: #c53030; }
  .filters select, .filters input { margin-right: 6px; }
  svg text { font: 11px system-ui, sans-serif; }
</style>
</head>
<body>
<header><strong>EasyJobs</strong><a href="/docs">API docs</a><a href="/metrics">metrics</a>
  <span id="updated" class="muted"></span>
  <span style="margin-left:auto">API token <input id="token" placeholder="if the manager needs one"></span></header>
<main>
  <section id="hosts-section"><h2>Hosts</h2><table id="hosts"></table></section>
  <section id="queues-section"><h2>Queues</h2><table id="queues"></table></section>
  <section class="wide" id="tasks-section"><h2>Tasks</h2><table id="tasks"></table></section>
  <section class="wide" id="jobs-section"><h2>Jobs</h2>
    <div class="filters">
      <select id="f-queue"><option value="">all queues</option></select>
      <input id="f-task" placeholder="task">
      <select id="f-status"><option value="">any status</option><option>waiting</option><option>queued</option><option>running</option>
        <option>completed</option><option>failed</option><option>cancelled</option></select>
      <select id="f-since"><option value="">any time</option><option value="300">last 5 min</option><option value="3600">last hour</option><option value="86400">last day</option></select>
      <button id="prev">◀</button><span id="page">page 1</span><button id="next">▶</button>
    </div>
    <table id="jobs"></table></section>
  <section class="wide" id="job-section" hidden><h2>Job <span id="job-id"></span></h2><div id="job"></div></section>
</main>
<script>
"use strict";
const $ = id => document.getElementById(id);
let offset = 0, selected = null;
const pageSize = 50;
function headers() {
  const token = $("token").value.trim();
  return token ? { "Authorization": "Bearer " + token } : {};
}
async function get(path) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw new Error(path + ": " + response.status);
  return response.json();
}
async function post(path) {
  const response = await fetch(path, { method: "POST", headers: headers() });
  return response.json();
}
function esc(value) {
  return String(value ?? "").replace(/[&<>"]/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
}
function status(s) { return `<span class="status ${esc(s)}">${esc(s)}</span>`; }
function when(t) { return t ? new Date(t).toLocaleTimeString() : ""; }
function jobLink(id) { return `<a class="job" href="#/jobs/${encodeURIComponent(id)}">${esc(id.slice(0, 8))}</a>`; }
function taskLink(queue, task) { return `<a class="task" href="#/tasks/${encodeURIComponent(queue)}/${encodeURIComponent(task)}">${esc(task)}</a>`; }
function rows(table, head, body) {
  $(table).innerHTML = "<tr>" + head.map(h => `<th>${h}</th>`).join("") + "</tr>" + body.join("");
}
async function refreshHosts() {
  const [hosts, running] = await Promise.all([get("/hosts"), get("/job/view/running?limit=1000")]);
  rows("hosts", ["name", "queue", "plugins", "running", "last heartbeat", "state"], hosts.map(h => {
    const count = running.jobs.filter(j => j.host === h.name).length;
    const plugins = h.plugins.map(p => `${esc(p.name)} ${esc(p.version)}`).join(", ") +
      h.refused.map(r => `<div class="bad">refused ${esc(r.file)}</div>`).join("");
    const state = (h.online ? '<span class="ok">online</span>' : '<span class="bad">offline</span>') + (h.paused ? " · paused" : "");
    return `<tr class="host" data-host="${esc(h.name)}"><td>${esc(h.name)}</td><td>${esc(h.queue)}</td><td>${plugins}</td><td>${count}</td><td>${when(h.last_heartbeat)}</td><td>${state}</td></tr>`;
  }));
}
async function refreshQueues() {
  const queues = await get("/queues");
  const select = $("f-queue"), current = select.value;
  select.innerHTML = '<option value="">all queues</option>' + queues.map(q => `<option>${esc(q.queue)}</option>`).join("");
  select.value = current;
  rows("queues", ["queue", "queued", "waiting", "running", "done / min", "failed / min"], queues.map(q =>
    `<tr><td>${esc(q.queue)}${q.paused ? " (paused)" : ""}</td><td>${q.counts.queued}</td><td>${q.counts.waiting}</td><td>${q.counts.running}</td>` +
    `<td>${q.completed_last_minute}</td><td class="${q.failed_last_minute ? "bad" : ""}">${q.failed_last_minute}</td></tr>`));
}
async function refreshTasks() {
  const [queues, schedules] = await Promise.all([get("/tasks"), get("/schedules")]);
  const body = [];
  for (const q of queues) for (const t of q.tasks) {
    const s = schedules.find(x => x.queue === q.queue && x.task === t.name);
    const options = Object.entries(t.options).filter(([k, v]) => v !== false && !(Array.isArray(v) && !v.length) && k !== "retry_policy" && k !== "schedule" && k !== "default_args")
      .map(([k, v]) => `${k}: ${esc(JSON.stringify(v))}`).join("; ");
    const params = t.parameters.map(p => `${esc(p.name)}: ${esc(p.type)}${p.required ? "" : "?"}`).join(", ");
    const schedule = s ? `${esc(s.expression)}${s.paused ? " (paused)" : " · next " + when(s.next_fire_at)}` : "";
    const problems = (q.problems[t.name] || []).map(p => `<div class="bad">${esc(p)}</div>`).join("");
    body.push(`<tr><td>${esc(q.queue)}</td><td>${taskLink(q.queue, t.name)}(${params})${problems}</td><td>${esc(t.options.retry_policy)}</td><td>${options}</td><td>${schedule}</td></tr>`);
  }
  rows("tasks", ["queue", "signature", "retries", "options", "schedule"], body);
}
async function refreshJobs() {
  const query = new URLSearchParams({ limit: pageSize, offset });
  if ($("f-queue").value) query.set("queue", $("f-queue").value);
  if ($("f-task").value.trim()) query.set("task", $("f-task").value.trim());
  if ($("f-status").value) query.set("status", $("f-status").value);
  if ($("f-since").value) query.set("since", Date.now() / 1000 - Number($("f-since").value));
  const list = await get("/jobs?" + query);
  $("page").textContent = "page " + (offset / pageSize + 1);
  rows("jobs", ["job", "queue", "task", "status", "attempts", "host", "created", "origin", ""], list.jobs.map(j => {
    const actions = j.status === "failed" || j.status === "cancelled"
      ? `<button data-retry="${esc(j.request_id)}">retry</button><button class="danger" data-discard="${esc(j.request_id)}">discard</button>` : "";
    return `<tr><td>${jobLink(j.request_id)}</td><td>${esc(j.queue)}</td><td>${esc(j.task)}</td><td>${status(j.status)}</td><td>${j.attempts}</td>` +
      `<td>${esc(j.host)}</td><td>${when(j.created_at)}</td><td>${esc(j.origin.kind)}</td><td>${actions}</td></tr>`;
  }));
}
function drawGraph(graph) {
  const depth = { [graph.root]: 0 };
  for (let changed = true; changed;) {
    changed = false;
    for (const e of graph.edges) if (depth[e.from] !== undefined && depth[e.to] === undefined) { depth[e.to] = depth[e.from] + 1; changed = true; }
  }
  const columns = {};
  for (const job of graph.jobs) (columns[depth[job.request_id] ?? 0] = columns[depth[job.request_id] ?? 0] || []).push(job);
  const at = {}, w = 150, h = 44;
  let height = 0;
  for (const [d, jobs] of Object.entries(columns)) jobs.forEach((job, i) => { at[job.request_id] = { x: 10 + d * (w + 40), y: 10 + i * (h + 14) }; height = Math.max(height, 10 + (i + 1) * (h + 14)); });
  const width = 20 + (Object.keys(columns).length) * (w + 40);
  const colors = { completed: "#2f855a", failed: "#c53030", running: "#2b6cb0", queued: "#718096", waiting: "#b7791f", cancelled: "#4a5568" };
  let svg = `<svg id="graph" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">`;
  for (const e of graph.edges) {
    const a = at[e.from], b = at[e.to];
    if (!a || !b) continue;
    svg += `<line x1="${a.x + w}" y1="${a.y + h / 2}" x2="${b.x}" y2="${b.y + h / 2}" stroke="#a0aec0"/><text x="${(a.x + w + b.x) / 2 - 20}" y="${(a.y + b.y + h) / 2 - 3}" fill="#5a6473">${esc(e.kind)}</text>`;
  }
  for (const job of graph.jobs) {
    const p = at[job.request_id];
    svg += `<g class="node" data-job="${esc(job.request_id)}" style="cursor:pointer"><rect x="${p.x}" y="${p.y}" width="${w}" height="${h}" rx="6" fill="${colors[job.status] || "#718096"}"/>` +
      `<text x="${p.x + 8}" y="${p.y + 18}" fill="#fff">${esc(job.task)}</text><text x="${p.x + 8}" y="${p.y + 34}" fill="#fff">${esc(job.status)}</text></g>`;
  }
  return svg + "</svg>";
}
async function showJob(id) {
  selected = id;
  const [job, graph, log] = await Promise.all([
    get("/job/view/result?request_id=" + encodeURIComponent(id)),
    get("/job/view/graph?request_id=" + encodeURIComponent(id)),
    get("/job/view/log?request_id=" + encodeURIComponent(id)),
  ]);
  // The view moved on (another address) while this job loaded: showing it now would undo that.
  if (selected !== id) return;
  $("job-section").hidden = false;
  $("job-id").textContent = id;
  const timeline = [["created", job.created_at], ["started", job.started_at], ["finished", job.finished_at]]
    .filter(([, t]) => t).map(([k, t]) => `${k} ${new Date(t).toLocaleString()}`).join(" → ");
  $("job").innerHTML =
    `<p>${status(job.status)} ${esc(job.queue)}/${esc(job.task)} · attempts ${job.attempts}${job.max_attempts ? " of " + job.max_attempts : ""} · host ${esc(job.host)} · origin ${esc(job.origin.kind)}` +
    `${job.plugin ? " · plugin " + esc(job.plugin.name) + " " + esc(job.plugin.version) : ""}${job.note ? ' · <span class="bad">' + esc(job.note) + "</span>" : ""}</p>` +
    `<p class="muted">${timeline}</p>` +
    `<h3>Arguments</h3><pre id="job-args">${esc(JSON.stringify(job.args, null, 2))}</pre>` +
    (job.error ? `<h3>Error</h3><pre class="bad" id="job-error">${esc(job.error)}</pre>` : `<h3>Result</h3><pre id="job-result">${esc(JSON.stringify(job.result, null, 2))}</pre>`) +
    (log.lines.length ? `<h3>Log</h3><pre>${log.lines.map(l => esc(l.line)).join("\n")}</pre>` : "") +
    `<h3>Pipeline</h3>${drawGraph(graph)}`;
}
async function refresh() {
  try {
    await Promise.all([refreshHosts(), refreshQueues(), refreshTasks(), refreshJobs()]);
    if (selected) await showJob(selected);
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("updated").textContent = "cannot reach the manager: " + e.message;
  }
}
// Every view has an address (#/jobs/<id>, #/tasks/<queue>/<task>): it can be linked from a chat or
// a ticket, survives a reload, and the browser's back button steps back through the views.
async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "jobs" && parts[1]) {
    await showJob(parts[1]);
    $("job-section").scrollIntoView();
    return;
  }
  selected = null;
  $("job-section").hidden = true;
  if (parts[0] === "tasks" && parts[1]) {
    if (![...$("f-queue").options].some(o => o.value === parts[1])) $("f-queue").add(new Option(parts[1], parts[1]));
    $("f-queue").value = parts[1];
    $("f-task").value = parts[2] || "";
    offset = 0;
    await refreshJobs();
    $("jobs-section").scrollIntoView();
  }
}
window.addEventListener("hashchange", route);
document.addEventListener("click", async event => {
  const target = event.target.closest("[data-job],[data-retry],[data-discard]");
  if (!target) return;
  if (target.dataset.job) location.hash = "#/jobs/" + encodeURIComponent(target.dataset.job);
  if (target.dataset.retry) { await post("/job/retry?request_id=" + encodeURIComponent(target.dataset.retry)); await refreshJobs(); }
  if (target.dataset.discard) { await post("/job/discard?request_id=" + encodeURIComponent(target.dataset.discard)); await refreshJobs(); }
});
for (const id of ["f-queue", "f-status", "f-since"]) $(id).addEventListener("change", () => { offset = 0; refreshJobs(); });
$("f-task").addEventListener("input", () => { offset = 0; refreshJobs(); });
$("prev").addEventListener("click", () => { offset = Math.max(0, offset - pageSize); refreshJobs(); });
$("next").addEventListener("click", () => { offset += pageSize; refreshJobs(); });
// The address of the first dashboards (/?job=<id>) still opens the job, under its new address.
const wanted = new URLSearchParams(location.search).get("job");
if (wanted && !location.hash) history.replaceState(null, "", "/#/jobs/" + encodeURIComponent(wanted));
refresh().then(route);
setInterval(refresh, 2000);
</script>
</body>
</html>
"""#
}
