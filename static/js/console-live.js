// Live console pages (templates/console/_live.html, console/consumers.py): one WebSocket per
// page. The run page appends the new events the server renders and updates the status badge;
// the list page sends the ids of its running rows and updates a row's badge when it closes.
// The socket reconnects with a growing delay when it drops, except after a final close code.
// There is no HTTP polling: everything arrives over the socket.
(function () {
  "use strict";

  const config = document.getElementById("console-live");
  const indicator = document.getElementById("console-live-state");
  if (!config || !indicator || !("WebSocket" in window)) return;

  const FINAL_CODES = new Set([1000, 4400, 4403, 4404]); // normal end, bad request, forbidden, not found
  const DELAYS = [1000, 2000, 5000, 10000, 30000];
  const MAX_RUNS = 100;
  const kind = config.dataset.kind;
  const connection = indicator.querySelector("[data-live-connection]");
  const news = indicator.querySelector("[data-live-news]");

  let socket = null;
  let failures = 0;
  let leaving = false;
  let lastError = "";
  let lastEventId = Number(config.dataset.after || 0);
  let unseen = 0;

  function say(text, detail) {
    connection.textContent = text;
    indicator.title = detail || "";
    indicator.hidden = false;
  }

  // Show the indicator next to what it is about: the run's title, or above the list's table.
  function place() {
    const anchor = kind === "history"
      ? document.querySelector("[data-live-run-status]")
      : document.querySelector("tr[data-workflow-id]");
    const host = anchor && anchor.closest(kind === "history" ? "h1" : "table");
    if (host) host.insertAdjacentElement(kind === "history" ? "afterend" : "beforebegin", indicator);
  }

  function localize(root) {
    if (window.sundialLocalTime) window.sundialLocalTime(root);
  }

  function setBadge(badge, status) {
    if (!badge) return;
    badge.textContent = status;
    badge.dataset.status = status;
  }

  function addEvents(message) {
    lastEventId = Math.max(lastEventId, message.last_event_id);
    const list = document.getElementById("live-events");
    if (!list) {
      unseen += message.count;
      news.textContent = unseen === 1 ? "1 new event \u2014 reload to see it" : unseen + " new events \u2014 reload to see them";
      return;
    }
    const template = document.createElement("template");
    template.innerHTML = message.html;
    Array.from(template.content.children).forEach(function (item) {
      if (item.id && document.getElementById(item.id)) return; // already shown
      localize(item);
      list.appendChild(item);
    });
  }

  function rows() {
    return Array.from(document.querySelectorAll("tr[data-workflow-id][data-run-id]"));
  }

  function rowBadge(row) {
    return row.querySelector("td .badge[data-status]");
  }

  function runningRuns() {
    return rows()
      .filter(function (row) { const badge = rowBadge(row); return badge && badge.dataset.status === "Running"; })
      .slice(0, MAX_RUNS)
      .map(function (row) { return { workflow_id: row.dataset.workflowId, run_id: row.dataset.runId }; });
  }

  function showStatus(message) {
    if (kind === "history") {
      document.querySelectorAll("[data-live-run-status]").forEach(function (el) { setBadge(el, message.status); });
      return;
    }
    rows().forEach(function (row) {
      if (row.dataset.workflowId === message.workflow_id && row.dataset.runId === message.run_id) {
        setBadge(rowBadge(row), message.status);
      }
    });
  }

  function url() {
    const target = new URL(config.dataset.url, location.href);
    target.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (kind === "history") target.searchParams.set("after", String(lastEventId));
    return target.href;
  }

  function onMessage(event) {
    let message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    if (message.type === "live") {
      failures = 0;
      lastError = "";
      say("Live");
      if (kind === "statuses") watch();
    } else if (message.type === "events") {
      addEvents(message);
    } else if (message.type === "status") {
      showStatus(message);
    } else if (message.type === "error") {
      lastError = message.message || "";
      if (message.retrying) say("Reconnecting\u2026", lastError);
    }
  }

  function watch() {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ watch: runningRuns() }));
    }
  }

  function connect() {
    if (socket) return;
    if (kind === "statuses" && runningRuns().length === 0) {
      return; // nothing on this page can change status
    }
    socket = new WebSocket(url());
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", function (event) {
      socket = null;
      if (leaving) return;
      if (FINAL_CODES.has(event.code)) {
        say("Closed", lastError);
        if (lastError && event.code !== 1000) news.textContent = lastError;
        return;
      }
      say("Reconnecting\u2026", lastError);
      setTimeout(connect, DELAYS[Math.min(failures, DELAYS.length - 1)]);
      failures += 1;
    });
  }

  // The list's table may be replaced in place (filters, pages): follow its new rows.
  document.body.addEventListener("htmx:afterSettle", function () {
    if (kind !== "statuses") return;
    if (socket) watch(); else connect();
  });
  window.addEventListener("pagehide", function () {
    leaving = true;
    if (socket) socket.close(1000);
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return; // restored from the back-forward cache: follow again
    leaving = false;
    connect();
  });

  place();
  connect();
})();
