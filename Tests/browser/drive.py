"""Drives headless Chromium over the DevTools protocol (through --remote-debugging-pipe, no
extra packages) to check the dashboard and the docs page as a person would see them.

usage: drive.py BASE_URL JOB_ID ARTIFACTS_DIR
prints one JSON object: the dashboard's text, whether the pipeline graph was drawn, what a
task triggered from /docs answered, and every console error or uncaught exception.
"""
import base64, json, os, subprocess, sys, time

base, job, artifacts = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(artifacts, exist_ok=True)
to_chrome_r, to_chrome_w = os.pipe()
from_chrome_r, from_chrome_w = os.pipe()
def into_place():
    # Moved out of the way first, so that neither lands on the other's target.
    r, w = os.dup(to_chrome_r), os.dup(from_chrome_w)
    os.dup2(r, 3)
    os.dup2(w, 4)

binary = "/usr/lib/chromium/chromium" if os.path.exists("/usr/lib/chromium/chromium") else "chromium"
chrome = subprocess.Popen(
    [binary, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe", "--window-size=1400,1600",
     "--user-data-dir=" + os.path.join(artifacts, "profile"), "about:blank"],
    close_fds=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(os.path.join(artifacts, "chromium.log"), "w"),
    # Chromium reads the protocol on fd 3 and writes it on fd 4.
    preexec_fn=into_place)
os.close(to_chrome_r); os.close(from_chrome_w)
writer, reader = os.fdopen(to_chrome_w, "wb"), os.fdopen(from_chrome_r, "rb")
pending, errors, next_id, session = b"", [], [0], [None]

def send(method, params=None):
    next_id[0] += 1
    message = {"id": next_id[0], "method": method, "params": params or {}}
    if session[0] and not method.startswith("Target."):
        message["sessionId"] = session[0]
    writer.write(json.dumps(message).encode() + b"\0"); writer.flush()
    return wait_for(next_id[0])

def read_message():
    global pending
    while b"\0" not in pending:
        chunk = os.read(reader.fileno(), 65536)
        if not chunk:
            raise SystemExit("chromium closed the pipe")
        pending += chunk
    raw, pending = pending.split(b"\0", 1)
    return json.loads(raw)

def note(message):
    method, params = message.get("method"), message.get("params", {})
    if method == "Runtime.exceptionThrown":
        errors.append("exception: " + params["exceptionDetails"].get("text", "") + " " + json.dumps(params["exceptionDetails"].get("exception", {}).get("description", "")))
    elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
        errors.append("console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
    elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
        errors.append("log: " + params["entry"].get("text", "") + " " + params["entry"].get("url", ""))

def wait_for(identifier):
    while True:
        message = read_message()
        if message.get("id") == identifier:
            if "error" in message:
                raise SystemExit(json.dumps(message["error"]))
            return message.get("result", {})
        note(message)

def pump(seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        evaluate("1")
        time.sleep(0.1)

def evaluate(expression):
    result = send("Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True})
    return result.get("result", {}).get("value")

def screenshot(name):
    data = send("Page.captureScreenshot", {"format": "png"})["data"]
    with open(os.path.join(artifacts, name), "wb") as f:
        f.write(base64.b64decode(data))

target = send("Target.createTarget", {"url": "about:blank"})["targetId"]
session[0] = send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
for domain in ["Page", "Runtime", "Log"]:
    send(domain + ".enable")

send("Page.navigate", {"url": base + "/#/jobs/" + job})
pump(4)
dashboard = evaluate("document.body.innerText")
graph_nodes = evaluate("document.querySelectorAll('#graph g.node').length")
screenshot("dashboard.png")

# Views have addresses: a click in the pipeline moves to the other job's address, the back
# button returns, a reload keeps the view, and the first dashboards' /?job= address still works.
other = evaluate(f"(() => {{ const node = [...document.querySelectorAll('#graph g.node')].find(n => n.dataset.job !== {json.dumps(job)}); node.dispatchEvent(new MouseEvent('click', {{bubbles: true}})); return node.dataset.job; }})()")
pump(2)
after_click = {"hash": evaluate("location.hash"), "shown": evaluate("document.getElementById('job-id').textContent")}
evaluate("history.back()")
pump(2)
after_back = {"hash": evaluate("location.hash"), "shown": evaluate("document.getElementById('job-id').textContent")}
send("Page.reload")
pump(3)
after_reload = {"hash": evaluate("location.hash"), "shown": evaluate("document.getElementById('job-id').textContent")}
send("Page.navigate", {"url": base + "/?job=" + job})
pump(3)
legacy = {"hash": evaluate("location.hash"), "shown": evaluate("document.getElementById('job-id').textContent")}
send("Page.navigate", {"url": base + "/#/tasks/ETL/extract"})
pump(3)
task_view = {
    "queue": evaluate("document.getElementById('f-queue').value"),
    "task": evaluate("document.getElementById('f-task').value"),
    "tasks_listed": evaluate("[...document.querySelectorAll('#jobs tr')].slice(1).map(r => r.children[2].textContent)"),
    "job_hidden": evaluate("document.getElementById('job-section').hidden"),
}
# Leaving a job's view while the periodic refresh is still loading that job: the job must not
# come back once its answers arrive (it did, and the task view then showed the job).
send("Page.navigate", {"url": base + "/#/jobs/" + job})
pump(2)
evaluate("(() => { showJob(selected); location.hash = '#/tasks/ETL/extract'; return true; })()")
pump(2)
left_while_loading = {"hash": evaluate("location.hash"), "job_hidden": evaluate("document.getElementById('job-section').hidden")}
addresses = {"left_while_loading": left_while_loading, "other": other, "after_click": after_click, "after_back": after_back, "after_reload": after_reload, "legacy": legacy, "task_view": task_view}

send("Page.navigate", {"url": base + "/docs"})
pump(3)
evaluate("""(() => {
  const box = document.querySelector('textarea[data-path="/ETL/task/transform"]');
  box.closest('details').open = true;
  box.value = JSON.stringify({data: {a: 40}});
  box.parentElement.querySelector('button').click();
})()""")
pump(4)
docs_answer = evaluate("""document.querySelector('textarea[data-path="/ETL/task/transform"]').parentElement.querySelector('pre.result').textContent""")
docs_sections = evaluate("Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
screenshot("docs.png")

print(json.dumps({"dashboard": dashboard, "graph_nodes": graph_nodes, "docs_answer": docs_answer, "docs_sections": docs_sections, "addresses": addresses, "errors": errors}))
chrome.kill()
chrome.wait()
