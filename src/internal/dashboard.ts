/**
 * The dashboard: one self-contained page (no build step, no CDN) with the
 * tasks' table, fed live by `/events`, and a scrolling event log. Rows are
 * kept by task id and redrawn once per animation frame, so a thousand tasks
 * and a busy event stream stay usable.
 */
export const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>effect-taskvisor</title>
<style>
  :root { color-scheme: light dark; --muted: #888; --ok: #2e7d32; --bad: #c62828; --warn: #ef6c00; --run: #1565c0; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; display: grid; grid-template-rows: auto 1fr auto; height: 100vh; }
  header { padding: 8px 16px; display: flex; gap: 24px; align-items: baseline; border-bottom: 1px solid #8884; }
  header h1 { font-size: 16px; margin: 0; }
  #summary span { margin-right: 16px; }
  #status.down { color: var(--bad); }
  main { overflow: auto; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 3px 10px; border-bottom: 1px solid #8882; white-space: nowrap; }
  th { position: sticky; top: 0; background: Canvas; }
  td.reason { white-space: normal; max-width: 40vw; color: var(--muted); }
  tr.Running td.state { color: var(--run); }
  tr.BackingOff td.state, tr.Parked td.state, tr.Paused td.state { color: var(--warn); }
  tr.finished { color: var(--muted); }
  .completed { color: var(--ok); } .failed, .fatal, .force_aborted, .timed_out, .stalled { color: var(--bad); }
  #filter { width: 16em; }
  #log { height: 28vh; overflow: auto; margin: 0; padding: 6px 16px; border-top: 1px solid #8884; font: 12px/1.35 ui-monospace, monospace; }
</style>
</head>
<body>
<header>
  <h1>effect-taskvisor</h1>
  <span id="status">connecting…</span>
  <span id="summary"></span>
  <input id="filter" placeholder="filter by name or state" aria-label="filter">
</header>
<main>
<table id="tasks">
  <thead><tr><th>id</th><th>task</th><th>state</th><th>attempt</th><th>restarts</th><th>last</th><th>reason</th></tr></thead>
  <tbody></tbody>
</table>
</main>
<pre id="log" aria-label="events"></pre>
<script>
"use strict";
const rows = new Map();
const finishedKept = 200;
const logKept = 500;
let dirty = new Set();
let logLines = [];
const tbody = document.querySelector("#tasks tbody");
const logEl = document.getElementById("log");
const statusEl = document.getElementById("status");
const filterEl = document.getElementById("filter");

function upsert(id, patch) {
  let row = rows.get(id);
  if (row === undefined) {
    row = { id, name: "", state: "Waiting", attempt: 0, restarts: 0, last: "", reason: "", finished: false, el: null };
    rows.set(id, row);
  }
  Object.assign(row, patch);
  dirty.add(row);
  schedule();
}

let scheduled = false;
function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(draw);
}

function cell(tr, index, text, cls) {
  const td = tr.children[index];
  if (td.textContent !== text) td.textContent = text;
  if (cls !== undefined) td.className = cls;
}

function draw() {
  scheduled = false;
  const filter = filterEl.value.trim().toLowerCase();
  for (const row of dirty) {
    if (row.el === null) {
      row.el = document.createElement("tr");
      row.el.dataset.id = String(row.id);
      for (let i = 0; i < 7; i++) row.el.appendChild(document.createElement("td"));
      row.el.children[2].className = "state";
      tbody.appendChild(row.el);
    }
    const tr = row.el;
    tr.dataset.task = row.name;
    tr.className = (row.finished ? "finished " : "") + row.state;
    cell(tr, 0, String(row.id));
    cell(tr, 1, row.name);
    cell(tr, 2, row.state);
    cell(tr, 3, String(row.attempt));
    cell(tr, 4, String(row.restarts));
    cell(tr, 5, row.last, row.last.replace(/^outcome_/, ""));
    cell(tr, 6, row.reason, "reason");
    tr.hidden = filter !== "" && !(row.name.toLowerCase().includes(filter) || row.state.toLowerCase().includes(filter));
  }
  dirty = new Set();
  const finished = [...rows.values()].filter((row) => row.finished);
  for (const row of finished.slice(0, Math.max(0, finished.length - finishedKept))) {
    row.el?.remove();
    rows.delete(row.id);
  }
  let running = 0, backingOff = 0, paused = 0, live = 0;
  for (const row of rows.values()) {
    if (row.finished) continue;
    live++;
    if (row.state === "Running") running++;
    else if (row.state === "BackingOff" || row.state === "Parked") backingOff++;
    else if (row.state === "Paused") paused++;
  }
  document.getElementById("summary").textContent =
    live + " tasks · " + running + " running · " + backingOff + " backing off · " + paused + " paused";
  if (logLines.length > 0) {
    const atBottom = logEl.scrollTop + logEl.clientHeight >= logEl.scrollHeight - 4;
    logEl.append(logLines.join(""));
    logLines = [];
    const text = logEl.textContent;
    const lines = text.split("\\n");
    if (lines.length > logKept) logEl.textContent = lines.slice(lines.length - logKept).join("\\n");
    if (atBottom) logEl.scrollTop = logEl.scrollHeight;
  }
}

filterEl.addEventListener("input", () => { for (const row of rows.values()) dirty.add(row); schedule(); });

function log(event) {
  const time = new Date(event.at).toISOString().slice(11, 23);
  const detail = event.reason ?? (event.outcome ? event.outcome._tag : "");
  logLines.push(time + " " + event.label + (event.task ? " " + event.task : "") +
    (event.attempt ? " #" + event.attempt : "") + (detail ? " " + detail : "") + "\\n");
  schedule();
}

const resultOf = { AttemptSucceeded: "succeeded", AttemptFailed: "failed", AttemptTimedOut: "timed_out",
  AttemptStalled: "stalled", AttemptCanceled: "canceled" };

function apply(event) {
  log(event);
  if (event.id === undefined || event.task === undefined) return;
  const id = event.id;
  switch (event._tag) {
    case "TaskAdded": return upsert(id, { name: event.task, state: "Waiting" });
    case "AttemptStarting":
      return upsert(id, { name: event.task, state: "Running", attempt: event.attempt,
        restarts: Math.max(0, event.attempt - 1) });
    case "AttemptSucceeded": case "AttemptFailed": case "AttemptTimedOut": case "AttemptStalled": case "AttemptCanceled":
      return upsert(id, { name: event.task, last: resultOf[event._tag], reason: event.reason ?? "" });
    case "BackoffScheduled": return upsert(id, { name: event.task, state: "BackingOff" });
    case "TaskParked": return upsert(id, { name: event.task, state: "Parked" });
    case "TaskPaused": return upsert(id, { name: event.task, state: "Paused" });
    case "TaskRemoveRequested": return upsert(id, { name: event.task, state: "Stopping" });
    case "TaskFinished":
      return upsert(id, { name: event.task, state: "Finished", finished: true,
        last: "outcome_" + event.outcome._tag.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase(),
        reason: event.outcome.reason ?? "" });
  }
}

// the snapshot of /tasks: at first, the rows no event has reached yet; after a reconnection (the server lets a
// client go when it falls too far behind), every row, as the events missed meanwhile are lost
async function load(resync) {
  const response = await fetch("tasks");
  const tasks = await response.json();
  const present = new Set();
  for (const task of tasks) {
    present.add(task.id);
    if (resync || !rows.has(task.id)) {
      upsert(task.id, { name: task.name, state: task.state, attempt: task.attempt, restarts: task.restarts,
        last: task.lastAttempt ? task.lastAttempt.result : "", reason: task.lastAttempt?.reason ?? "",
        finished: false });
    }
  }
  if (resync) for (const row of rows.values()) if (!present.has(row.id) && !row.finished) upsert(row.id, { finished: true });
}

let connections = 0;
function connect() {
  const source = new EventSource("events");
  source.onopen = () => {
    statusEl.textContent = "live";
    statusEl.className = "";
    load(connections++ > 0);
  };
  source.onmessage = (message) => apply(JSON.parse(message.data));
  source.onerror = () => { statusEl.textContent = "disconnected, retrying…"; statusEl.className = "down"; };
}

connect();
</script>
</body>
</html>
`
