/** The dashboard: one self-contained HTML page, fed live by `/events`. */
/**
 * The dashboard: one self-contained page (no build step, no CDN, nothing
 * loaded from elsewhere) fed live by `/events`: the tasks as a tree (a group's
 * children under it, its strategy, intensity and autoShutdown on its row), the
 * controller's slots, the cluster singletons with the runner holding each, charts of attempts, failures and restarts per second
 * drawn on canvases, a task's detail panel (crash history, attempt timeline,
 * controls when a token is configured) and a scrolling event log. Rows are
 * kept by task name and redrawn once per animation frame, so a thousand tasks
 * and a busy event stream stay usable. A cron task's row shows when it runs
 * next (its time, and how long until then) and `Scheduled` between runs: no
 * event says a run is over and when the next one is, so its row is read again
 * (`tasks/:name`) when its run ends, when it is added or resumed, and when it
 * skips times it missed.
 */

/** What the page is told by the server that serves it. */
export interface PageOptions {
  /** Whether the control routes exist (a token is configured): the page then shows their buttons. */
  readonly controls: boolean
}

const controlsSection = `
  <section id="controls" aria-label="controls">
    <div class="buttons">
      <button type="button" data-action="restart" title="end the running attempt and start the next now">restart</button>
      <button type="button" data-action="pause" title="stop attempts until resumed">pause</button>
      <button type="button" data-action="resume" title="start the next attempt now">resume</button>
      <button type="button" data-action="trigger" title="start the next attempt of a waiting or scheduled task now (a cron task's schedule does not move)">trigger</button>
      <button type="button" data-action="cancel" class="danger" title="stop the task for good">cancel</button>
    </div>
    <form id="token-form" hidden>
      <label>bearer token <input id="token" type="password" autocomplete="off" required></label>
      <button type="submit">use token</button>
      <small>kept in this tab only, never in the address</small>
    </form>
    <div id="control-message" role="status"></div>
  </section>`

/** The page, with the control buttons when `controls` says the routes exist. */
export const page = (options: PageOptions): string =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>effect-taskvisor</title>
<style>
  :root { color-scheme: light dark; --muted: #888; --ok: #2e7d32; --bad: #c62828; --warn: #ef6c00; --run: #1565c0;
    --line: #8883; --sel: #1565c022; --calm: #00838f; }
  @media (prefers-color-scheme: dark) { :root { --ok: #66bb6a; --bad: #ef5350; --warn: #ffa726; --run: #64b5f6; --sel: #64b5f633;
    --calm: #4dd0e1; } }
  * { box-sizing: border-box; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; display: grid; height: 100vh;
    grid-template-rows: auto auto minmax(0, 1fr) auto; }
  button { font: inherit; }
  header { padding: 8px 16px; display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: baseline; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 16px; margin: 0; }
  #summary span { margin-right: 16px; }
  #status.down { color: var(--bad); }
  #filter { width: 16em; }
  #auth button, #metrics-link { font-size: 12px; }
  #overview { display: flex; flex-wrap: wrap; gap: 12px 20px; padding: 8px 16px; border-bottom: 1px solid var(--line); }
  #charts { flex: 3 1 480px; display: flex; gap: 16px; min-width: 0; }
  figure.chart { flex: 1 1 0; margin: 0; min-width: 120px; }
  figure.chart figcaption { font-size: 12px; display: flex; gap: 8px; white-space: nowrap; overflow: hidden; }
  figure.chart .title { font-weight: 600; }
  figure.chart .figures { color: var(--muted); }
  figure.chart canvas { display: block; width: 100%; height: 56px; }
  figure.chart .axis { display: flex; justify-content: space-between; font-size: 11px; color: var(--muted); }
  #slots, #singletons { flex: 2 1 300px; min-width: 0; max-height: 104px; overflow: auto; font-size: 13px; }
  #slots h2, #singletons h2, aside h2, aside h3 { font-size: 13px; margin: 0 0 4px; }
  #slots td, #slots th, #singletons td, #singletons th { padding: 1px 8px 1px 0; }
  #singletons .badge { margin-left: 6px; }
  #layout { display: grid; grid-template-columns: minmax(0, 1fr) auto; min-height: 0; }
  main { overflow: auto; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 3px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { position: sticky; top: 0; background: Canvas; z-index: 1; }
  #tasks tbody tr { cursor: pointer; }
  #tasks tbody tr:hover { background: #8881; }
  #tasks tbody tr.selected td { background: var(--sel); }
  #done tr:first-child td { border-top: 2px solid var(--line); }
  /* fixed columns: laid out once, whatever a thousand rows hold; a long reason is cut (its full text in its title) */
  #tasks { table-layout: fixed; }
  #tasks td { overflow: hidden; text-overflow: ellipsis; }
  td.reason { color: var(--muted); }
  td.name { white-space: normal; }
  td.name .label { white-space: nowrap; }
  td.name .badge { margin-left: 6px; display: inline-block; }
  td.name .badge[hidden] { display: none; }
  button.toggle { width: 1.2em; padding: 0; margin-right: 4px; border: 0; background: none; cursor: pointer; color: var(--muted); }
  button.toggle::before { content: "\\25be"; }
  tr.collapsed button.toggle::before { content: "\\25b8"; }
  tr:not(.group) button.toggle { visibility: hidden; }
  .badge { font-size: 11px; color: var(--muted); border: 1px solid var(--line); border-radius: 8px; padding: 0 6px; }
  tr.group td.name .label { font-weight: 600; }
  :not(tr).Running, tr.Running td.state { color: var(--run); }
  /* an attempt not ready yet (a child process before its readyWhen line) */
  :not(tr).Starting, tr.Starting td.state { color: var(--calm); }
  :not(tr):is(.BackingOff, .Parked, .Paused, .Terminating, .Stopping),
  tr:is(.BackingOff, .Parked, .Paused, .Stopping) td.state { color: var(--warn); }
  /* a cron task between runs is idle, not in trouble */
  :not(tr).Scheduled, tr.Scheduled td.state { color: var(--calm); }
  tr.finished { color: var(--muted); }
  .completed, .succeeded, .ok { color: var(--ok); }
  .failed, .fatal, .force_aborted, .timed_out, .stalled, .bad { color: var(--bad); }
  aside { width: min(440px, 42vw); overflow: auto; border-left: 1px solid var(--line); padding: 8px 14px; }
  aside .head { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; }
  aside .head h2 { font-size: 15px; word-break: break-all; }
  aside dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 12px; margin: 6px 0 10px; font-size: 13px; }
  aside dt { color: var(--muted); }
  aside dd { margin: 0; word-break: break-word; }
  aside h3 { margin-top: 12px; }
  aside table td, aside table th { padding: 2px 8px 2px 0; font-size: 12px; white-space: normal; }
  aside a { color: inherit; }
  #controls { margin: 8px 0; }
  #controls .buttons { display: flex; flex-wrap: wrap; gap: 6px; }
  #controls button.danger { color: var(--bad); }
  #controls button.armed { background: var(--bad); color: Canvas; }
  #token-form[hidden] { display: none; }
  #token-form { margin-top: 8px; display: flex; flex-wrap: wrap; gap: 6px; align-items: baseline; }
  #token-form small { color: var(--muted); }
  #control-message { min-height: 1.4em; font-size: 13px; margin-top: 4px; }
  .timeline { position: relative; height: 16px; background: #8881; border-radius: 3px; margin: 4px 0; }
  .timeline span { position: absolute; top: 2px; bottom: 2px; min-width: 3px; border-radius: 2px; background: var(--muted); }
  .timeline span.running { background: var(--run); }
  .timeline span.succeeded { background: var(--ok); }
  .timeline span.failed, .timeline span.timed_out, .timeline span.stalled { background: var(--bad); }
  .timeline span.canceled { background: var(--warn); }
  .timeline span.point { width: 3px; min-width: 3px; }
  #d-axis { display: flex; justify-content: space-between; font-size: 11px; }
  ol#d-attempts { margin: 4px 0; padding-left: 0; list-style: none; font-size: 12px; }
  ol#d-attempts li { padding: 1px 0; }
  .muted { color: var(--muted); }
  #log { height: 22vh; overflow: auto; margin: 0; padding: 6px 16px; border-top: 1px solid var(--line); font: 12px/1.35 ui-monospace, monospace; }
  @media (max-width: 900px) {
    #layout { grid-template-columns: minmax(0, 1fr); }
    aside { position: fixed; right: 0; top: 0; bottom: 0; background: Canvas; width: min(440px, 92vw); z-index: 2; }
  }
</style>
</head>
<body data-controls="${options.controls ? "on" : "off"}">
<header>
  <h1>effect-taskvisor</h1>
  <span id="status">connecting…</span>
  <span id="summary"></span>
  <input id="filter" placeholder="filter by name or state" aria-label="filter">
  <span id="auth" hidden>token set for this tab <button type="button" id="forget">forget</button></span>
  <a id="metrics-link" href="metrics" hidden>metrics</a>
</header>
<section id="overview">
  <div id="charts">
    <figure class="chart" data-series="attempts" data-total="0"><figcaption><span class="title">attempts/s</span><span class="figures"></span></figcaption><canvas></canvas><div class="axis"><span>−5 min</span><span>now</span></div></figure>
    <figure class="chart" data-series="failures" data-total="0"><figcaption><span class="title">failures/s</span><span class="figures"></span></figcaption><canvas></canvas><div class="axis"><span>−5 min</span><span>now</span></div></figure>
    <figure class="chart" data-series="restarts" data-total="0"><figcaption><span class="title">restarts/s</span><span class="figures"></span></figcaption><canvas></canvas><div class="axis"><span>−5 min</span><span>now</span></div></figure>
  </div>
  <section id="slots" hidden aria-label="controller slots">
    <h2>controller slots</h2>
    <table><thead><tr><th>slot</th><th>status</th><th>owner</th><th>queued</th><th>for</th></tr></thead><tbody></tbody></table>
  </section>
  <section id="singletons" hidden aria-label="cluster singletons">
    <h2>singletons</h2>
    <table><thead><tr><th>singleton</th><th>owner</th><th>status</th><th>for</th></tr></thead><tbody></tbody></table>
  </section>
</section>
<div id="layout">
<main>
<table id="tasks">
  <colgroup><col style="width:3.5em"><col style="width:30%"><col style="width:7.5em"><col style="width:5.5em">
    <col style="width:5.5em"><col style="width:11.5em"><col style="width:15em"><col></colgroup>
  <thead><tr><th>id</th><th>task</th><th>state</th><th>attempt</th><th>restarts</th><th>last</th><th>next run</th>
    <th>reason</th></tr></thead>
  <tbody id="live"></tbody>
  <tbody id="done" aria-label="finished tasks"></tbody>
</table>
</main>
<aside id="detail" hidden aria-label="task details">
  <div class="head"><h2 id="d-title"></h2><button type="button" id="d-close" title="close (Esc)" aria-label="close">×</button></div>
  <div id="d-facts"></div>${options.controls ? controlsSection : ""}
  <h3>attempts</h3>
  <div id="d-timeline" class="timeline"></div>
  <div class="axis muted" id="d-axis"><span></span><span></span></div>
  <h3>crash history</h3>
  <table id="d-failures"><thead><tr><th>time</th><th>attempt</th><th>reason</th><th>exit</th></tr></thead><tbody></tbody></table>
  <h3>latest attempts</h3>
  <ol id="d-attempts"></ol>
</aside>
</div>
<pre id="log" aria-label="events"></pre>
<script>
"use strict";
const finishedKept = 200;
const logKept = 500;
const attemptsKept = 40;
const windowSeconds = 300;
const tokenKey = "effect-taskvisor.token";
const controlsOn = document.body.dataset.controls === "on";

/** The tasks still registered (top-level ones in id order), then those finished (the latest first). */
const liveBody = document.getElementById("live");
const doneBody = document.getElementById("done");
const tasksEl = document.getElementById("tasks");
const logEl = document.getElementById("log");
const statusEl = document.getElementById("status");
const filterEl = document.getElementById("filter");
const detailEl = document.getElementById("detail");
const slotsEl = document.getElementById("slots");
const singletonsEl = document.getElementById("singletons");
const messageEl = document.getElementById("control-message");
const tokenForm = document.getElementById("token-form");

// -- the server's clock: events carry its time (a TestClock's in tests); between events it runs at our pace ------
let anchorAt, anchorPerf;
function serverNow() { return anchorAt === undefined ? undefined : anchorAt + (performance.now() - anchorPerf); }
function seen(at) {
  const now = serverNow();
  // re-anchored when the server is ahead of the guess, or the guess ran on while the server's clock stood still
  if (now === undefined || at > now || now - at > 2000) { anchorAt = at; anchorPerf = performance.now(); }
}

function clock(at) { return new Date(at).toISOString().slice(11, 23); }
function span(ms) {
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 1 : 0) + " s";
  if (ms < 3600000) return Math.floor(ms / 60000) + " min " + Math.floor(ms % 60000 / 1000) + " s";
  return Math.floor(ms / 3600000) + " h " + Math.floor(ms % 3600000 / 60000) + " min";
}
/** A time to come, in UTC as every time here: its day too when it is not the server's today. */
function when(at) {
  const iso = new Date(at).toISOString();
  const now = serverNow();
  const today = now !== undefined && new Date(now).toISOString().slice(0, 10) === iso.slice(0, 10);
  return (today ? "" : iso.slice(0, 10) + " ") + iso.slice(11, 19);
}
function within(ms) {
  return ms % 3600000 === 0 ? ms / 3600000 + "h" : ms % 60000 === 0 ? ms / 60000 + "m" : ms % 1000 === 0 ? ms / 1000 + "s" : ms + "ms";
}
function h(tag, props, ...children) {
  const node = document.createElement(tag);
  if (props) for (const key in props) {
    if (key === "class") node.className = props[key];
    else if (key === "style") node.style.cssText = props[key];
    else if (key.startsWith("data-")) node.setAttribute(key, props[key]);
    else node[key] = props[key];
  }
  for (const child of children) if (child !== undefined && child !== null) node.append(child);
  return node;
}

// -- the rows: one per task name (a name a new task takes again keeps its row), placed in the tree by group ------
const rows = new Map();
const byId = new Map();
const rowOfEl = new WeakMap();
/** Rows whose group has no row yet, by the group's name. */
const orphans = new Map();
let dirty = new Set();
let layoutDirty = false;
let finishedSeq = 0;
/** Events received: a row keeps the count at its last event (touched), to tell it from an older snapshot. */
let eventCount = 0;
/** The largest id of a top-level row placed. */
let topId = 0;
let logLines = [];

function rowNamed(name) {
  let row = rows.get(name);
  if (row === undefined) {
    row = { id: undefined, name, group: undefined, state: "Waiting", attempt: 0, restarts: 0, last: "", reason: "",
      finished: false, finishedAt: 0, supervision: undefined, groupRestarts: 0, lastGroupRestart: "", note: undefined,
      attempts: [], failures: [], uptimeMs: undefined, fetchedAt: undefined, infoAsked: false, touched: 0,
      el: null, parent: undefined, kids: [], collapsed: false,
      schedule: undefined, nextRunAt: undefined, awaitsReady: false, asking: false, askAgain: false };
    rows.set(name, row);
  }
  return row;
}

/** The row of task id named name; undefined for an event of an older task whose name a newer one has taken. */
function rowOf(id, name, group) {
  let row = byId.get(id);
  if (row !== undefined) row.touched = eventCount;
  if (row === undefined) {
    row = rowNamed(name);
    if (row.id !== undefined && id < row.id) return undefined;
    if (row.id !== undefined) {
      byId.delete(row.id);
      Object.assign(row, { state: "Waiting", attempt: 0, restarts: 0, last: "", reason: "", finished: false,
        failures: [], note: undefined, schedule: undefined, nextRunAt: undefined, awaitsReady: false });
    }
    row.id = id;
    row.touched = eventCount;
    byId.set(id, row);
  }
  if (group !== undefined && row.group !== group) {
    row.group = group;
    if (row.el !== null) place(row);
    askGroupInfo(group);
  }
  return row;
}

function update(row, patch) {
  if (patch !== undefined) Object.assign(row, patch);
  dirty.add(row);
  if (row === selected) detailDirty = true;
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
  if (cls !== undefined && td.className !== cls) td.className = cls;
}

function depthOf(row) {
  let depth = 0;
  for (let p = row.parent; p !== undefined; p = p.parent) depth++;
  return depth;
}

function ensureEl(row) {
  if (row.el !== null) return;
  const tr = document.createElement("tr");
  tr.tabIndex = 0;
  for (let i = 0; i < 8; i++) tr.appendChild(document.createElement("td"));
  tr.children[1].className = "name";
  tr.children[1].append(
    h("button", { type: "button", class: "toggle", title: "collapse or expand its children" }),
    h("span", { class: "label" }),
    h("span", { class: "badge", hidden: true }));
  tr.children[2].className = "state";
  row.el = tr;
  rowOfEl.set(tr, row);
  place(row);
}

function lastDescendant(row) {
  while (row.kids.length > 0) row = row.kids[row.kids.length - 1];
  return row;
}

function subtree(row, into) {
  into.push(row);
  for (const kid of row.kids) subtree(kid, into);
  return into;
}

/** Put the row (and what is under it) in the tree: after its group's earlier children, or at the end. */
function place(row) {
  const parent = row.group === undefined ? undefined : rows.get(row.group);
  if (parent !== undefined && parent !== row && parent.el === null) {
    // placing its group places the rows that waited for it, this one among them
    ensureEl(parent);
    if (row.parent === parent) return;
  }
  if (row.parent !== undefined) {
    const kids = row.parent.kids;
    kids.splice(kids.indexOf(row), 1);
    row.parent = undefined;
  }
  // the subtree goes after anchor, or in body before before (at its end if null)
  let anchor = null, body = liveBody, before = null;
  if (parent !== undefined && parent !== row) {
    const order = parent.supervision ? parent.supervision.children : [];
    const index = order.indexOf(row.name);
    let at = parent.kids.length;
    if (index >= 0) {
      for (let i = 0; i < parent.kids.length; i++) {
        const other = order.indexOf(parent.kids[i].name);
        if (other > index) { at = i; break; }
      }
    }
    anchor = at === 0 ? parent.el : lastDescendant(parent.kids[at - 1]).el;
    parent.kids.splice(at, 0, row);
    row.parent = parent;
  } else {
    if (row.group !== undefined) {
      let waiting = orphans.get(row.group);
      if (waiting === undefined) orphans.set(row.group, waiting = new Set());
      waiting.add(row);
    }
    if (row.finished) {
      body = doneBody;
      before = doneBody.firstElementChild;
    } else if (row.id !== undefined && row.id < topId) {
      // in id order: only a row the snapshot brings after newer ones' events needs looking for its place
      let next = null;
      for (const other of rows.values()) {
        if (other.parent === undefined && other !== row && other.el !== null && other.el.parentNode === liveBody &&
          other.id > row.id && (next === null || other.id < next.id)) next = other;
      }
      if (next !== null) before = next.el;
    }
    if (!row.finished && row.id !== undefined && row.id > topId) topId = row.id;
  }
  for (const each of subtree(row, [])) {
    if (each.el === null) continue;
    if (anchor !== null) {
      anchor.after(each.el);
      anchor = each.el;
    } else body.insertBefore(each.el, before);
    dirty.add(each);
  }
  const waiting = orphans.get(row.name);
  if (waiting !== undefined) {
    orphans.delete(row.name);
    for (const kid of waiting) if (kid.el !== null && kid.group === row.name) place(kid);
  }
  layoutDirty = true;
}

function badgeOf(row) {
  const s = row.supervision;
  if (s === undefined) return row.kids.length > 0 ? "group" : "";
  const intensity = s.intensity === undefined ? "no intensity limit"
    : "≤" + s.intensity.maxRestarts + " restarts/" + within(s.intensity.withinMs);
  return s.strategy + " · " + intensity + " · autoShutdown " + s.autoShutdown +
    (row.groupRestarts > 0 ? " · " + row.groupRestarts + " group restart" + (row.groupRestarts > 1 ? "s" : "") : "");
}

function render(row) {
  ensureEl(row);
  const tr = row.el;
  // a top-level task that finished moves to the finished ones, and back when a new task takes its name
  if (row.parent === undefined && tr.parentNode !== (row.finished ? doneBody : liveBody)) place(row);
  const isGroup = row.supervision !== undefined || row.kids.length > 0;
  tr.dataset.task = row.name;
  tr.dataset.id = String(row.id ?? "");
  tr.dataset.depth = String(depthOf(row));
  tr.className = (row.finished ? "finished " : "") + row.state + (isGroup ? " group" : "") +
    (isGroup && row.collapsed ? " collapsed" : "") + (row === selected ? " selected" : "");
  cell(tr, 0, String(row.id ?? ""));
  const name = tr.children[1];
  name.style.paddingLeft = (10 + 18 * depthOf(row)) + "px";
  const label = row.parent !== undefined ? row.name.slice(row.parent.name.length + 1) : row.name;
  if (name.children[1].textContent !== label) name.children[1].textContent = label;
  const toggle = name.children[0];
  toggle.setAttribute("aria-label", (row.collapsed ? "expand " : "collapse ") + row.name);
  toggle.setAttribute("aria-expanded", String(!row.collapsed));
  const badge = badgeOf(row);
  name.children[2].hidden = badge === "";
  if (name.children[2].textContent !== badge) name.children[2].textContent = badge;
  cell(tr, 2, row.state);
  cell(tr, 3, String(row.attempt));
  cell(tr, 4, String(row.restarts));
  cell(tr, 5, row.last, row.last.replace(/^outcome_/, ""));
  cell(tr, 6, nextRun(row), "next");
  const next = row.nextRunAt === undefined || row.finished ? "" : new Date(row.nextRunAt).toISOString();
  if (tr.children[6].title !== next) tr.children[6].title = next;
  const reason = row.reason || row.note || "";
  cell(tr, 7, reason, "reason");
  if (tr.children[7].title !== reason) tr.children[7].title = reason;
}

/** When a cron task runs next, and how long until then as far as the server's clock is known. */
function nextRun(row) {
  if (row.nextRunAt === undefined || row.finished) return "";
  const now = serverNow();
  const left = now === undefined ? undefined : row.nextRunAt - now;
  return when(row.nextRunAt) + (left === undefined ? "" : left > 0 ? " · in " + span(left) : " · due");
}

function matches(row, filter) {
  return row.name.toLowerCase().includes(filter) || row.state.toLowerCase().includes(filter);
}

/** Hide the rows the filter leaves out (keeping the groups of those it keeps) or under a collapsed group. */
function applyVisibility() {
  layoutDirty = false;
  const filter = filterEl.value.trim().toLowerCase();
  let shown = null;
  if (filter !== "") {
    shown = new Set();
    for (const row of rows.values()) {
      if (!matches(row, filter)) continue;
      for (let r = row; r !== undefined && !shown.has(r); r = r.parent) shown.add(r);
    }
  }
  for (const row of rows.values()) {
    if (row.el === null) continue;
    let hide = shown !== null && !shown.has(row);
    // a filter shows what it finds, collapsed or not
    if (!hide && shown === null) for (let p = row.parent; p !== undefined; p = p.parent) if (p.collapsed) { hide = true; break; }
    if (row.el.hidden !== hide) row.el.hidden = hide;
  }
}

function remove(row) {
  for (const kid of row.kids.slice()) remove(kid);
  if (row.parent !== undefined) row.parent.kids.splice(row.parent.kids.indexOf(row), 1);
  row.el?.remove();
  rows.delete(row.name);
  if (byId.get(row.id) === row) byId.delete(row.id);
  if (row === selected) select(undefined);
}

function evict() {
  let count = 0;
  for (const row of rows.values()) if (row.finished) count++;
  if (count <= finishedKept) return;
  const finished = [...rows.values()].filter((row) => row.finished).sort((a, b) => a.finishedAt - b.finishedAt);
  for (const row of finished.slice(0, count - finishedKept)) {
    if (rows.get(row.name) === row && subtree(row, []).every((each) => each.finished)) remove(row);
  }
}

function draw() {
  scheduled = false;
  const changed = dirty.size > 0;
  // placing a row in the tree marks the rows it moves: they are drawn in the same frame
  while (dirty.size > 0) {
    const batch = dirty;
    dirty = new Set();
    for (const row of batch) if (rows.get(row.name) === row) render(row);
  }
  evict();
  if (layoutDirty || (changed && filterEl.value.trim() !== "")) applyVisibility();
  let running = 0, backingOff = 0, paused = 0, between = 0, live = 0;
  for (const row of rows.values()) {
    if (row.finished) continue;
    live++;
    if (row.state === "Running" || row.state === "Starting") running++;
    else if (row.state === "BackingOff" || row.state === "Parked") backingOff++;
    else if (row.state === "Paused") paused++;
    else if (row.state === "Scheduled") between++;
  }
  document.getElementById("summary").textContent =
    live + (live === 1 ? " task · " : " tasks · ") + running + " running · " + backingOff + " backing off · " + paused + " paused" +
    (between > 0 ? " · " + between + " scheduled" : "");
  if (chartsDirty) drawCharts();
  if (slotsDirty) renderSlots();
  if (singletonsDirty) renderSingletons();
  if (detailDirty) renderDetail();
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

filterEl.addEventListener("input", () => { layoutDirty = true; schedule(); });

tasksEl.addEventListener("click", (event) => {
  const tr = event.target.closest("tr");
  const row = tr === null ? undefined : rowOfEl.get(tr);
  if (row === undefined) return;
  if (event.target.closest("button.toggle") !== null) {
    row.collapsed = !row.collapsed;
    layoutDirty = true;
    return update(row);
  }
  select(row === selected ? undefined : row);
});
tasksEl.addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  const row = rowOfEl.get(event.target);
  if (row !== undefined) select(row);
});

// -- the charts: attempts, failures and restarts per second over the last five minutes, from the events -----------
const series = ["attempts", "failures", "restarts"].map((key, index) => {
  const figure = document.querySelector('figure[data-series="' + key + '"]');
  return { key, index, figure, canvas: figure.querySelector("canvas"), figures: figure.querySelector(".figures"),
    counts: new Uint32Array(windowSeconds), color: ["--run", "--bad", "--warn"][index] };
});
/** The second each bucket counts. */
const bucketSecond = new Float64Array(windowSeconds).fill(-1);
let chartsDirty = true;

function count(index, at) {
  const second = Math.floor(at / 1000);
  const i = second % windowSeconds;
  if (bucketSecond[i] !== second) {
    if (bucketSecond[i] > second) return;
    bucketSecond[i] = second;
    for (const s of series) s.counts[i] = 0;
  }
  series[index].counts[i]++;
  chartsDirty = true;
  schedule();
}

function drawCharts() {
  chartsDirty = false;
  const now = serverNow();
  const end = now === undefined ? -1 : Math.floor(now / 1000);
  const style = getComputedStyle(document.documentElement);
  const dpr = window.devicePixelRatio || 1;
  const values = new Array(windowSeconds);
  for (const s of series) {
    let total = 0, peak = 0;
    for (let k = 0; k < windowSeconds; k++) {
      const second = end - windowSeconds + 1 + k;
      const i = second % windowSeconds;
      const v = second >= 0 && bucketSecond[i] === second ? s.counts[i] : 0;
      values[k] = v;
      total += v;
      if (v > peak) peak = v;
    }
    s.figure.dataset.total = String(total);
    s.figures.textContent = total === 0 ? "none in 5 min" : "peak " + peak + " · " + total + " in 5 min";
    const canvas = s.canvas;
    const w = Math.max(1, Math.round(canvas.clientWidth * dpr)), ht = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== w || canvas.height !== ht) { canvas.width = w; canvas.height = ht; }
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, w, ht);
    const pad = 2 * dpr;
    ctx.fillStyle = "#8882";
    ctx.fillRect(0, ht - dpr, w, dpr);
    ctx.fillRect(0, pad, w, dpr);
    if (peak === 0) continue;
    const color = style.getPropertyValue(s.color).trim() || "#888";
    const x = (k) => (k + 0.5) / windowSeconds * w;
    const y = (v) => ht - dpr - v / peak * (ht - dpr - pad);
    ctx.beginPath();
    ctx.moveTo(0, y(0));
    for (let k = 0; k < windowSeconds; k++) ctx.lineTo(x(k), y(values[k]));
    ctx.lineTo(w, y(0));
    ctx.closePath();
    ctx.globalAlpha = 0.25;
    ctx.fillStyle = color;
    ctx.fill();
    ctx.globalAlpha = 1;
    ctx.beginPath();
    for (let k = 0; k < windowSeconds; k++) ctx[k === 0 ? "moveTo" : "lineTo"](x(k), y(values[k]));
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5 * dpr;
    ctx.stroke();
  }
}

new ResizeObserver(() => { chartsDirty = true; schedule(); }).observe(document.getElementById("charts"));

// -- the controller's slots: GET controller, again on the controller's events and when an owner ends ------------
let slots = { available: undefined, list: [], fetchedAt: undefined };
let slotsDirty = false;
let slotsLoading = false, slotsAgain = false;
const owners = new Set();

async function loadSlots() {
  if (slots.available === false) return;
  if (slotsLoading) { slotsAgain = true; return; }
  slotsLoading = true;
  try {
    const response = await fetch("controller");
    if (response.status === 404) slots = { available: false, list: [], fetchedAt: undefined };
    else if (response.ok) {
      const body = await response.json();
      slots = { available: true, list: body.slots, fetchedAt: serverNow() };
    }
  } catch {
    // the next event asks again
  } finally {
    slotsLoading = false;
    owners.clear();
    for (const slot of slots.list) owners.add(slot.ownerId);
    slotsDirty = true;
    schedule();
    if (slotsAgain) { slotsAgain = false; loadSlots(); }
  }
}

function renderSlots() {
  slotsDirty = false;
  slotsEl.hidden = slots.available !== true;
  if (slots.available !== true) return;
  const body = slotsEl.querySelector("tbody");
  const now = serverNow();
  const since = now === undefined || slots.fetchedAt === undefined ? 0 : Math.max(0, now - slots.fetchedAt);
  const trs = slots.list.map((slot) => {
    const owner = byId.get(slot.ownerId);
    const link = owner === undefined ? "#" + slot.ownerId : h("a", { href: "#", "data-select": owner.name }, owner.name);
    return h("tr", { "data-slot": slot.slot }, h("td", null, slot.slot), h("td", { class: slot.status }, slot.status),
      h("td", null, link), h("td", null, String(slot.queueDepth)),
      h("td", null, span(slot.statusForMs + since)));
  });
  if (trs.length === 0) trs.push(h("tr", null, h("td", { class: "muted", colSpan: 5 }, "every slot is idle")));
  body.replaceChildren(...trs);
}

// -- the cluster singletons: GET singletons, again on their events, on their tasks' and every few seconds (an owner
// elsewhere tells this page nothing); out of cluster mode, never again
let singletons = { available: undefined, list: [], fetchedAt: undefined };
let singletonsDirty = false;
let singletonsLoading = false, singletonsAgain = false;

async function loadSingletons() {
  if (singletons.available === false) return;
  if (singletonsLoading) { singletonsAgain = true; return; }
  singletonsLoading = true;
  try {
    const response = await fetch("singletons");
    if (response.ok) {
      const body = await response.json();
      singletons = body.cluster ? { available: true, list: body.singletons, fetchedAt: serverNow() }
        : { available: false, list: [], fetchedAt: undefined };
    }
  } catch {
    // the next event or look asks again
  } finally {
    singletonsLoading = false;
    singletonsDirty = true;
    schedule();
    if (singletonsAgain) { singletonsAgain = false; loadSingletons(); }
  }
}

function renderSingletons() {
  singletonsDirty = false;
  singletonsEl.hidden = singletons.list.length === 0;
  if (singletons.list.length === 0) return;
  const now = serverNow();
  const since = now === undefined || singletons.fetchedAt === undefined ? 0 : Math.max(0, now - singletons.fetchedAt);
  const trs = singletons.list.map((one) => {
    const status = one.fenced ? "fenced" : one.running ? "running" : "not running";
    const task = one.local && rows.has(one.name) ? h("a", { href: "#", "data-select": one.name }, one.name) : one.name;
    const owner = one.owner === undefined ? h("span", { class: "muted" }, "none")
      : h("span", null, one.owner, one.local ? h("span", { class: "badge here" }, "here") : undefined);
    return h("tr", { "data-singleton": one.name }, h("td", null, task), h("td", null, owner),
      h("td", { class: one.fenced ? "bad" : one.running ? "ok" : "bad" }, status),
      h("td", null, one.unownedForMs === undefined ? "" : span(one.unownedForMs + since)));
  });
  singletonsEl.querySelector("tbody").replaceChildren(...trs);
}

// -- a task's detail panel: facts, its group's settings, controls, attempt timeline, crash history ----------------
let selected = undefined;
let detailDirty = false;
let detailLoading = false, detailAgain = false;

function select(row) {
  const before = selected;
  selected = row;
  if (before !== undefined) update(before);
  if (row !== undefined) { update(row); loadDetail(); }
  if (messageEl !== null) { messageEl.textContent = ""; messageEl.className = ""; }
  disarm();
  detailDirty = true;
  schedule();
}

async function loadDetail() {
  const row = selected;
  if (row === undefined) return;
  if (detailLoading) { detailAgain = true; return; }
  detailLoading = true;
  try {
    const response = await fetch("tasks/" + encodeURIComponent(row.name));
    if (response.ok) {
      const task = await response.json();
      if (task.id === row.id || row.id === undefined) {
        row.failures = task.failures;
        row.uptimeMs = task.uptimeMs;
        row.fetchedAt = serverNow();
        if (task.supervision !== undefined) row.supervision = task.supervision;
        for (const failure of task.failures) {
          if (!row.attempts.some((a) => a.id === task.id && a.attempt === failure.attempt)) {
            row.attempts.push({ id: task.id, attempt: failure.attempt, start: undefined, end: failure.at,
              result: "failed", reason: failure.reason });
          }
        }
        // the running attempt, when the page came after it started
        if (task.uptimeMs !== undefined && row.fetchedAt !== undefined &&
          !row.attempts.some((a) => a.id === task.id && a.attempt === task.attempt)) {
          row.attempts.push({ id: task.id, attempt: task.attempt, start: row.fetchedAt - task.uptimeMs, end: undefined,
            result: undefined, reason: "" });
        }
        row.attempts.sort((a, b) => (a.start ?? a.end) - (b.start ?? b.end));
        update(row);
      }
    }
  } catch {
    // shown as the events left it
  } finally {
    detailLoading = false;
    if (detailAgain) { detailAgain = false; loadDetail(); }
  }
}

/** A group's settings, when a child names it: asked once per group. */
async function askGroupInfo(name) {
  const row = rows.get(name);
  if (row === undefined || row.supervision !== undefined || row.infoAsked) return;
  row.infoAsked = true;
  try {
    const response = await fetch("tasks/" + encodeURIComponent(name));
    if (!response.ok) return;
    const task = await response.json();
    if (task.supervision !== undefined) update(row, { supervision: task.supervision });
  } catch {
    row.infoAsked = false;
  }
}

function fact(dl, term, value) {
  if (value === undefined || value === "") return;
  dl.append(h("dt", null, term), h("dd", null, value));
}

function renderDetail() {
  detailDirty = false;
  const row = selected;
  detailEl.hidden = row === undefined;
  if (row === undefined) return;
  document.getElementById("d-title").textContent = row.name;
  const now = serverNow();
  const live = row.state === "Running" || row.state === "Starting";
  const running = row.attempts.length > 0 && live ? row.attempts[row.attempts.length - 1] : undefined;
  const dl = h("dl");
  fact(dl, "id", String(row.id ?? ""));
  fact(dl, "state", h("span", { class: row.state }, row.state + (row.finished ? " (gone)" : "")));
  if (row.group !== undefined) fact(dl, "group", h("a", { href: "#", "data-select": row.group }, row.group));
  fact(dl, "attempt", String(row.attempt));
  fact(dl, "restarts", String(row.restarts));
  const plan = row.schedule;
  if (plan !== undefined) {
    fact(dl, "schedule", plan.expression + " (" + plan.timeZone + ") · overlap " + plan.overlap +
      (plan.catchUpMs === undefined ? "" : " · catch up " + within(plan.catchUpMs)) +
      (plan.jitterMs > 0 ? " · jitter " + within(plan.jitterMs) : ""));
  }
  fact(dl, "next run", nextRun(row) && new Date(row.nextRunAt).toISOString() + " (" + nextRun(row) + ")");
  if (running !== undefined && running.start !== undefined && now !== undefined) {
    fact(dl, "uptime", span(Math.max(0, now - running.start)) + " (since " + clock(running.start) + ")");
  } else if (row.uptimeMs !== undefined && live) {
    fact(dl, "uptime", span(row.uptimeMs + Math.max(0, (now ?? 0) - (row.fetchedAt ?? now ?? 0))));
  }
  if (row.last !== "") {
    fact(dl, "last", h("span", null, h("span", { class: row.last.replace(/^outcome_/, "") }, row.last),
      row.reason ? ": " + row.reason : ""));
  }
  const s = row.supervision;
  if (s !== undefined) {
    fact(dl, "strategy", s.strategy);
    fact(dl, "intensity", s.intensity === undefined ? "no limit"
      : "at most " + s.intensity.maxRestarts + " child restarts within " + within(s.intensity.withinMs));
    fact(dl, "autoShutdown", s.autoShutdown);
    if (row.groupRestarts > 0) fact(dl, "group restarts", row.groupRestarts + ": " + row.lastGroupRestart);
    const list = h("ul", { style: "margin:0;padding-left:16px" });
    for (const path of s.children) {
      const child = rows.get(path);
      list.append(h("li", null, h("a", { href: "#", "data-select": path }, path.slice(row.name.length + 1)), " ",
        h("span", { class: child === undefined ? "muted" : child.state }, child === undefined ? "not started" : child.state)));
    }
    fact(dl, "children", list);
  }
  document.getElementById("d-facts").replaceChildren(dl);
  if (controlsOn) for (const button of document.querySelectorAll("#controls button[data-action]")) button.disabled = row.finished;

  // the timeline: each attempt seen, from its start to its end (or now), and failures from before the page
  const attempts = row.attempts;
  const timeline = document.getElementById("d-timeline");
  const list = document.getElementById("d-attempts");
  const axis = document.getElementById("d-axis").children;
  if (attempts.length === 0) {
    timeline.replaceChildren();
    axis[0].textContent = axis[1].textContent = "";
    list.replaceChildren(h("li", { class: "muted" }, "no attempt seen yet"));
  } else {
    const from = Math.min(...attempts.map((a) => a.start ?? a.end));
    const to = Math.max(now ?? 0, ...attempts.map((a) => a.end ?? a.start));
    const total = Math.max(to - from, 1000);
    axis[0].textContent = clock(from);
    axis[1].textContent = clock(from + total);
    timeline.replaceChildren(...attempts.map((a) => {
      const start = a.start ?? a.end;
      const stop = a.end ?? to;
      const result = a.result ?? "running";
      return h("span", { class: result + (a.start === undefined ? " point" : ""), "data-result": result,
        style: "left:" + ((start - from) / total * 100).toFixed(2) + "%;width:" + ((stop - start) / total * 100).toFixed(2) + "%",
        title: "#" + a.attempt + " " + result + (a.reason ? ": " + a.reason : "") });
    }));
    list.replaceChildren(...attempts.slice(-8).reverse().map((a) => {
      const result = a.result ?? "running";
      const took = a.start !== undefined ? span((a.end ?? now ?? a.start) - a.start) : "";
      return h("li", { "data-attempt": String(a.attempt) }, "#" + a.attempt + " ", h("span", { class: result }, result),
        " · " + clock(a.start ?? a.end) + (took ? " · " + took : "") + (a.reason ? " · " + a.reason : ""));
    }));
  }
  const failures = document.getElementById("d-failures").querySelector("tbody");
  failures.replaceChildren(...(row.failures.length === 0
    ? [h("tr", null, h("td", { class: "muted", colSpan: 4 }, "no failure"))]
    : row.failures.slice().reverse().map((f) => h("tr", null, h("td", null, clock(f.at)),
      h("td", null, "#" + f.attempt), h("td", { class: "failed" }, f.reason),
      h("td", null, f.exitCode === undefined ? "" : String(f.exitCode))))));
}

detailEl.addEventListener("click", (event) => {
  const link = event.target.closest("[data-select]");
  if (link !== null) {
    event.preventDefault();
    const row = rows.get(link.dataset.select);
    if (row !== undefined) { select(row); row.el?.scrollIntoView({ block: "nearest" }); }
  }
});
document.getElementById("d-close").addEventListener("click", () => select(undefined));
singletonsEl.addEventListener("click", (event) => {
  const link = event.target.closest("[data-select]");
  if (link === null) return;
  event.preventDefault();
  const row = rows.get(link.dataset.select);
  if (row !== undefined) { select(row); row.el?.scrollIntoView({ block: "nearest" }); }
});
slotsEl.addEventListener("click", (event) => {
  const link = event.target.closest("[data-select]");
  if (link === null) return;
  event.preventDefault();
  const row = rows.get(link.dataset.select);
  if (row !== undefined) { select(row); row.el?.scrollIntoView({ block: "nearest" }); }
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && selected !== undefined && event.target !== document.getElementById("token")) select(undefined);
});

// -- controls: POST tasks/:name/:action with the bearer token, asked once and kept for this tab only ---------------
let pending = undefined;
let armed = undefined;
let armedTimer = undefined;

function say(text, cls) {
  messageEl.textContent = text;
  messageEl.className = cls;
}
function disarm() {
  if (!controlsOn) return;
  armed = undefined;
  clearTimeout(armedTimer);
  const button = document.querySelector('#controls button[data-action="cancel"]');
  button.textContent = "cancel";
  button.classList.remove("armed");
}
function showAuth() { document.getElementById("auth").hidden = !controlsOn || !sessionStorage.getItem(tokenKey); }

async function act(name, action) {
  const token = sessionStorage.getItem(tokenKey);
  if (!token) {
    pending = { name, action };
    tokenForm.hidden = false;
    document.getElementById("token").focus();
    return;
  }
  say(action + " " + name + "…", "");
  let response, body = {};
  try {
    response = await fetch("tasks/" + encodeURIComponent(name) + "/" + action,
      { method: "POST", headers: { authorization: "Bearer " + token } });
    body = await response.json().catch(() => ({}));
  } catch (error) {
    return say(action + " " + name + " failed: " + error.message, "bad");
  }
  if (response.ok) return say(action + " " + name + ": applied", "ok");
  if (response.status === 401) {
    sessionStorage.removeItem(tokenKey);
    showAuth();
    pending = { name, action };
    tokenForm.hidden = false;
  }
  say(response.status + ": " + (body.error ?? response.statusText), "bad");
}

if (controlsOn) {
  document.querySelector("#controls .buttons").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button === null || selected === undefined) return;
    const action = button.dataset.action;
    if (action === "cancel" && armed !== selected.name) {
      // stopping a task for good takes a second click
      armed = selected.name;
      button.textContent = "confirm cancel";
      button.classList.add("armed");
      clearTimeout(armedTimer);
      armedTimer = setTimeout(disarm, 5000);
      return;
    }
    disarm();
    act(selected.name, action);
  });
  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = document.getElementById("token");
    if (input.value === "") return;
    sessionStorage.setItem(tokenKey, input.value);
    input.value = "";
    tokenForm.hidden = true;
    showAuth();
    const next = pending;
    pending = undefined;
    if (next !== undefined) act(next.name, next.action);
  });
  document.getElementById("forget").addEventListener("click", () => { sessionStorage.removeItem(tokenKey); showAuth(); });
  showAuth();
}

// -- the events --------------------------------------------------------------------------------------------------
/** What a cron task's run event says of its scheduled time. */
function runDetail(event) {
  const at = typeof event.scheduledAt === "number" ? new Date(event.scheduledAt).toISOString() : "";
  switch (event._tag) {
    case "RunSkipped": return event.why + ": " + event.skipped + " skipped, the latest " + at;
    case "RunBuffered": return at + " kept, " + event.buffered + " waiting";
    case "RunCanceled": return "for the run of " + at;
    default: return "";
  }
}

function log(event) {
  const time = new Date(event.at).toISOString().slice(11, 23);
  const detail = event.reason ?? (event.outcome ? event.outcome._tag : runDetail(event));
  logLines.push(time + " " + event.label + (event.task ? " " + event.task : "") +
    (event.attempt ? " #" + event.attempt : "") + (detail ? " " + detail : "") + "\\n");
  schedule();
}

const resultOf = { AttemptSucceeded: "succeeded", AttemptFailed: "failed", AttemptTimedOut: "timed_out",
  AttemptStalled: "stalled", AttemptCanceled: "canceled" };

function attemptOf(row, event) {
  for (let i = row.attempts.length - 1; i >= 0; i--) {
    const a = row.attempts[i];
    if (a.id === event.id && a.attempt === event.attempt) return a;
  }
  const a = { id: event.id, attempt: event.attempt, start: undefined, end: undefined, result: undefined, reason: "" };
  row.attempts.push(a);
  if (row.attempts.length > attemptsKept) row.attempts.splice(0, row.attempts.length - attemptsKept);
  return a;
}

function apply(event) {
  eventCount++;
  log(event);
  if (typeof event.at === "number") seen(event.at);
  switch (event._tag) {
    case "AttemptStarting":
      count(0, event.at);
      if (event.attempt > 1) count(2, event.at);
      break;
    case "AttemptFailed": case "AttemptTimedOut": case "AttemptStalled":
      count(1, event.at);
      break;
    case "ControllerSubmitted": case "ControllerRejected": case "ControllerSlotTransition":
      loadSlots();
      break;
    case "TaskFinished": case "TaskRemoved":
      if (owners.has(event.id)) loadSlots();
      break;
    case "SingletonAcquired": case "SingletonReleased": case "SingletonUnowned":
      loadSingletons();
      break;
  }
  // whether a singleton runs here follows its task's state
  if (event.task !== undefined && singletons.list.some((one) => one.local && one.name === event.task) &&
    /^Task(Added|Finished|Parked|Paused|Resumed)$/.test(event._tag)) loadSingletons();
  if (event.id === undefined || event.task === undefined) return;
  const id = event.id;
  let row;
  switch (event._tag) {
    case "TaskAdded":
      row = rowOf(id, event.task, event.group);
      if (row === undefined) return;
      update(row, { state: "Waiting", schedule: event.schedule, awaitsReady: event.awaitsReady === true });
      // a cron task waits for its first time: its row says when
      if (event.schedule !== undefined) refresh(row);
      return;
    case "AttemptStarting": {
      row = rowOf(id, event.task, event.group);
      if (row === undefined) return;
      const a = attemptOf(row, event);
      a.start = event.at;
      // the time shown has come (a run triggered before it leaves it)
      const nextRunAt = row.nextRunAt !== undefined && event.at >= row.nextRunAt ? undefined : row.nextRunAt;
      // a task that says when it is ready (a child process's readyWhen) is Starting until its AttemptReady
      return update(row, { state: row.awaitsReady ? "Starting" : "Running", attempt: event.attempt, restarts: Math.max(0, event.attempt - 1), note: undefined,
        nextRunAt });
    }
    case "AttemptReady":
      row = rowOf(id, event.task, event.group);
      return row && row.attempt === event.attempt && row.state === "Starting" ? update(row, { state: "Running" }) : row;
    case "AttemptSucceeded": case "AttemptFailed": case "AttemptTimedOut": case "AttemptStalled": case "AttemptCanceled": {
      row = rowOf(id, event.task, event.group);
      if (row === undefined) return;
      const result = resultOf[event._tag];
      const reason = event.reason ?? (result === "timed_out" ? "timed out after " + span(event.timeout)
        : result === "stalled" ? "no progress for " + span(event.sinceProgress)
        : result === "canceled" ? row.note ?? "" : "");
      const a = attemptOf(row, event);
      a.end = event.at;
      if (a.start === undefined && typeof event.duration === "number") a.start = event.at - event.duration;
      a.result = result;
      a.reason = reason;
      if (row === selected && result !== "succeeded" && result !== "canceled") loadDetail();
      update(row, { last: result, reason, state: row.state === "Running" || row.state === "Starting" ? "Waiting" : row.state,
        attempt: Math.max(row.attempt, event.attempt), restarts: Math.max(row.restarts, event.attempt - 1) });
      // a cron task's run is over (Scheduled again, no event says so) unless a retry is scheduled (BackoffScheduled)
      if (row.schedule !== undefined) refresh(row);
      return;
    }
    case "BackoffScheduled": row = rowOf(id, event.task, event.group); return row && update(row, { state: "BackingOff" });
    case "TaskParked": row = rowOf(id, event.task, event.group); return row && update(row, { state: "Parked" });
    case "TaskPaused":
      row = rowOf(id, event.task, event.group);
      return row && update(row, { state: "Paused", note: "paused by an operator", nextRunAt: undefined });
    case "TaskRestartRequested":
      row = rowOf(id, event.task, event.group);
      return row && update(row, { note: "restarted by an operator" });
    case "TaskResumed":
      row = rowOf(id, event.task, event.group);
      if (row === undefined) return;
      update(row, { state: "Waiting" });
      // back to its schedule (or a run it catches up)
      if (row.schedule !== undefined) refresh(row);
      return;
    case "RunSkipped":
      // times missed are skipped as it plans its next run
      row = rowOf(id, event.task, event.group);
      if (row !== undefined && event.why === "Missed" && row.schedule !== undefined) refresh(row);
      return;
    case "RunCanceled":
      row = rowOf(id, event.task, event.group);
      return row && update(row, { note: "canceled for the run of " + new Date(event.scheduledAt).toISOString() });
    case "TaskRemoveRequested":
      row = rowOf(id, event.task, event.group);
      return row && update(row, { state: "Stopping", note: "stop requested" + (event.reason ? " (" + event.reason + ")" : "") });
    case "GroupRestarting": {
      row = rowOf(id, event.task, event.group);
      if (row === undefined) return;
      const cause = event.child.slice(event.task.length + 1);
      for (const path of event.children) {
        const child = rows.get(path);
        if (child !== undefined && path !== event.child) {
          update(child, { note: "restarted with " + cause + " (" + event.strategy + ")" });
        }
      }
      return update(row, { groupRestarts: row.groupRestarts + 1,
        lastGroupRestart: event.children.map((path) => path.slice(event.task.length + 1)).join(", ") + " (" + event.reason + ")" });
    }
    case "TaskFinished":
      row = rowOf(id, event.task, event.group);
      if (row === undefined) return;
      return update(row, { state: "Finished", finished: true, finishedAt: ++finishedSeq, nextRunAt: undefined,
        last: "outcome_" + event.outcome._tag.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase(),
        reason: event.outcome.reason ?? "" });
  }
}

// the snapshot of /tasks: at first, the rows no event has reached yet; after events were lost (a gap the server
// tells of, or a reconnection after it let the page go), every row no event has reached since it was asked for
let loading = false, loadAgain = false;
async function load(resync) {
  if (loading) { loadAgain = loadAgain || resync; return; }
  loading = true;
  const asked = eventCount;
  try {
    const response = await fetch("tasks");
    const tasks = await response.json();
    const present = new Set();
    for (const task of tasks) {
      present.add(task.id);
      const known = byId.get(task.id);
      if (known !== undefined && (!resync || known.touched > asked)) {
        // what the events did not say
        update(known, { attempt: Math.max(known.attempt, task.attempt), restarts: Math.max(known.restarts, task.restarts),
          last: known.last || (task.lastAttempt ? task.lastAttempt.result : ""),
          reason: known.last ? known.reason : task.lastAttempt?.reason ?? "",
          failures: task.failures, supervision: task.supervision ?? known.supervision,
          schedule: task.schedule ?? known.schedule, awaitsReady: task.awaitsReady === true,
          nextRunAt: known.touched > asked ? known.nextRunAt : timeOf(task.nextRunAt) });
        continue;
      }
      const row = rowOf(task.id, task.name, task.group);
      if (row === undefined) continue;
      update(row, { state: task.state, attempt: task.attempt, restarts: task.restarts,
        last: task.lastAttempt ? task.lastAttempt.result : "", reason: task.lastAttempt?.reason ?? "",
        finished: false, failures: task.failures, supervision: task.supervision ?? row.supervision,
        schedule: task.schedule, nextRunAt: timeOf(task.nextRunAt), awaitsReady: task.awaitsReady === true });
    }
    if (resync) {
      for (const row of rows.values()) {
        if (!present.has(row.id) && !row.finished && !(row.touched > asked)) update(row, { finished: true, finishedAt: ++finishedSeq });
      }
    }
  } catch {
    // the next loss or reconnection asks again
  } finally {
    loading = false;
    if (loadAgain) { loadAgain = false; load(true); }
  }
  loadSlots();
  loadSingletons();
}

/** An ISO time of a row as the clock's milliseconds. */
function timeOf(iso) { return iso === undefined ? undefined : Date.parse(iso); }

/**
 * A cron task's row read again (tasks/:name), for what no event says: that its run is over and it is Scheduled, and
 * when it runs next. An answer is taken only if no event reached the row since it was asked (a retry's
 * BackoffScheduled, the next run's AttemptStarting say more). One caught while the task was still moving on (still
 * Running or Waiting after its run ended, Scheduled with its next time not worked out yet) is asked again, a few times.
 */
async function refresh(row, tries = 0) {
  if (row.asking) { row.askAgain = true; return; }
  row.asking = true;
  const asked = eventCount;
  let moving = false;
  try {
    const response = await fetch("tasks/" + encodeURIComponent(row.name));
    if (response.ok) {
      const task = await response.json();
      if (task.id === row.id && !(row.touched > asked)) {
        moving = task.state === "Running" || task.state === "Waiting" ||
          (task.state === "Scheduled" && task.nextRunAt === undefined);
        if (!moving || tries >= 3) {
          update(row, { state: task.state, nextRunAt: timeOf(task.nextRunAt), schedule: task.schedule ?? row.schedule });
        }
      }
    }
  } catch {
    // its next event or run end asks again
  } finally {
    row.asking = false;
  }
  if (row.askAgain) { row.askAgain = false; refresh(row); }
  else if (moving && tries < 3) setTimeout(() => refresh(row, tries + 1), 100 * (tries + 1));
}

setInterval(() => {
  chartsDirty = true;
  // how long until a cron task's next run
  for (const row of rows.values()) if (row.nextRunAt !== undefined && !row.finished) dirty.add(row);
  if (slots.available === true && slots.list.length > 0) slotsDirty = true;
  if (singletons.list.some((one) => one.unownedForMs !== undefined)) singletonsDirty = true;
  if (selected !== undefined && (selected.state === "Running" || selected.state === "Starting")) detailDirty = true;
  schedule();
}, 1000);

setInterval(() => { if (singletons.available === true) loadSingletons(); }, 5000);

fetch("metrics", { method: "HEAD" }).then((response) => {
  document.getElementById("metrics-link").hidden = !response.ok;
}, () => {});

let connections = 0;
function connect() {
  const source = new EventSource("events");
  source.onopen = () => {
    statusEl.textContent = "live";
    statusEl.className = "";
    load(connections++ > 0);
  };
  source.onmessage = (message) => apply(JSON.parse(message.data));
  // the server lost events for this page (its buffer overflowed in a burst): the table is reloaded from /tasks
  source.addEventListener("gap", (message) => {
    let lost = "events lost";
    try {
      const gap = JSON.parse(message.data);
      lost = gap.lost + " events lost (seq " + gap.from + "–" + gap.to + ")";
    } catch {
      // said anyway
    }
    logLines.push("-- " + lost + ": the table is reloaded\\n");
    schedule();
    load(true);
  });
  source.onerror = () => { statusEl.textContent = "disconnected, retrying…"; statusEl.className = "down"; };
}

connect();
</script>
</body>
</html>
`
