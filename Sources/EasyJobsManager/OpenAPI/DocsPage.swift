/// `GET /docs`: an interactive page over the live OpenAPI document, written here and served by
/// the manager (nothing is fetched from the internet).
enum DocsPage {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>EasyJobs API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
  header { background: #1d2430; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: center; }
  header a { color: #9cc4ff; }
  main { max-width: 1000px; margin: 0 auto; padding: 16px 20px; }
  h2 { margin: 24px 0 8px; font-size: 18px; }
  details { background: #fff; border: 1px solid #d9dde3; border-radius: 6px; margin: 6px 0; }
  summary { cursor: pointer; padding: 8px 12px; }
  .method { display: inline-block; min-width: 48px; font-weight: 700; color: #fff; border-radius: 4px; padding: 1px 6px; margin-right: 8px; text-align: center; }
  .post { background: #2f855a; } .get { background: #2b6cb0; }
  .body { padding: 8px 12px 12px; border-top: 1px solid #eef0f3; }
  label { display: block; margin: 6px 0 2px; font-weight: 600; }
  input, textarea { font: 13px ui-monospace, monospace; width: 100%; box-sizing: border-box; padding: 4px 6px; }
  button { margin-top: 8px; padding: 5px 12px; border: 0; border-radius: 4px; background: #2b6cb0; color: #fff; cursor: pointer; }
  pre { background: #1d2430; color: #e2e8f0; padding: 8px; border-radius: 4px; overflow: auto; white-space: pre-wrap; }
  .hint { color: #5a6473; font-size: 12px; }
</style>
</head>
<body>
<header><strong>EasyJobs API</strong><a href="/">dashboard</a><a href="/openapi.json">openapi.json</a>
  <span style="margin-left:auto">API token <input id="token" style="width:180px" placeholder="if the manager needs one"></span></header>
<main id="main"><p>Loading…</p></main>
<script>
"use strict";
const main = document.getElementById("main");
function headers() {
  const token = document.getElementById("token").value.trim();
  const h = { "Content-Type": "application/json" };
  if (token) h["Authorization"] = "Bearer " + token;
  return h;
}
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}
function example(schema) {
  const out = {};
  for (const [name, p] of Object.entries(schema.properties || {})) {
    if ("default" in p) out[name] = p.default;
    else if (p.type === "string") out[name] = "";
    else if (p.type === "integer" || p.type === "number") out[name] = 0;
    else if (p.type === "boolean") out[name] = false;
    else if (p.type === "array") out[name] = [];
    else out[name] = {};
  }
  return out;
}
async function follow(id, output) {
  for (let i = 0; i < 120; i++) {
    const response = await fetch("/job/view/result?request_id=" + encodeURIComponent(id), { headers: headers() });
    const job = await response.json();
    output.textContent = JSON.stringify(job, null, 2);
    if (!response.ok || ["completed", "failed", "cancelled"].includes(job.status)) return;
    await new Promise(r => setTimeout(r, 500));
  }
}
function taskForm(path, op) {
  const schema = op.requestBody.content["application/json"].schema;
  const args = el("textarea", { rows: 5, "data-path": path }, JSON.stringify(example(schema), null, 2));
  const output = el("pre", { class: "result" }, "");
  const send = el("button", { onclick: async () => {
    output.textContent = "sending…";
    let body;
    try { body = JSON.parse(args.value || "{}"); } catch (e) { output.textContent = "not JSON: " + e.message; return; }
    const response = await fetch(path, { method: "POST", headers: headers(), body: JSON.stringify(body) });
    const answer = await response.json();
    output.textContent = JSON.stringify(answer, null, 2);
    if (response.ok && answer.request_id) follow(answer.request_id, output);
  } }, "Send");
  const fields = Object.entries(schema.properties || {}).map(([name, p]) =>
    el("div", { class: "hint" }, `${name}: ${p.type || "any"}${(schema.required || []).includes(name) ? " (required)" : ""}${"default" in p ? " = " + JSON.stringify(p.default) : ""}`));
  return el("div", { class: "body" }, el("p", {}, op.description || ""), ...fields, el("label", {}, "Arguments (JSON)"), args, send, output);
}
function readOnly(path, method, op) {
  const params = (op.parameters || []).map(p => el("div", { class: "hint" }, `${p.in} ${p.name}${p.required ? " (required)" : ""}: ${p.description || ""}`));
  const responses = Object.entries(op.responses || {}).map(([s, r]) => el("div", { class: "hint" }, `${s}: ${r.description}`));
  return el("div", { class: "body" }, ...params, ...responses);
}
async function load() {
  const spec = await (await fetch("/openapi.json")).json();
  const groups = {};
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags || ["other"])[0];
      (groups[tag] = groups[tag] || []).push([path, method, op]);
    }
  }
  main.replaceChildren();
  const order = Object.keys(groups).sort((a, b) => (["jobs", "schedules", "system"].includes(a) ? 1 : 0) - (["jobs", "schedules", "system"].includes(b) ? 1 : 0) || a.localeCompare(b));
  for (const tag of order) {
    main.append(el("h2", {}, ["jobs", "schedules", "system"].includes(tag) ? tag : "Queue " + tag));
    for (const [path, method, op] of groups[tag].sort((a, b) => a[0].localeCompare(b[0]))) {
      const isTask = method === "post" && op.requestBody;
      main.append(el("details", { "data-operation": op.operationId || path },
        el("summary", {}, el("span", { class: "method " + method }, method.toUpperCase()), path, el("span", { class: "hint" }, "  " + (op.summary || ""))),
        isTask ? taskForm(path, op) : readOnly(path, method, op)));
    }
  }
}
load().catch(e => { main.textContent = "cannot load the API description: " + e; });
</script>
</body>
</html>
"""#
}
