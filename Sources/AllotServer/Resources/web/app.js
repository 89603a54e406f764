// Allot console: live updates from /v1/events (the session cookie authenticates the stream), and live logs.
(function () {
  "use strict";
  var page = document.body.getAttribute("data-page");
  var pending = null;
  function busy() {
    var active = document.activeElement;
    return active && active.closest && active.closest("form") && active.tagName !== "BUTTON";
  }
  function refresh() {
    pending = null;
    if (busy()) { pending = setTimeout(refresh, 2000); return; }
    fetch(location.href, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) { return null; }
      return response.text();
    }).then(function (text) {
      if (!text) { return; }
      var next = new DOMParser().parseFromString(text, "text/html").getElementById("content");
      var current = document.getElementById("content");
      var logs = document.getElementById("logs");
      if (!next || !current) { return; }
      if (logs) {
        var nextLogs = next.querySelector("#logs");
        if (nextLogs) { nextLogs.replaceWith(logs); }
      }
      current.replaceWith(next);
    });
  }
  var live = ["overview", "nodes", "jobs", "job", "recommendations"];
  if (live.indexOf(page) >= 0 && window.EventSource) {
    var events = new EventSource("/v1/events");
    function schedule() { if (!pending) { pending = setTimeout(refresh, 1000); } }
    events.addEventListener("job", schedule);
    events.addEventListener("node", schedule);
    // Give the connection back when leaving: browsers allow few per server.
    window.addEventListener("pagehide", function () { events.close(); });
  }
  function follow() {
    var logs = document.getElementById("logs");
    if (!logs || logs.getAttribute("data-live") !== "true") { return; }
    var job = logs.getAttribute("data-job");
    var offset = logs.getAttribute("data-offset") || "0";
    fetch("/v1/jobs/" + encodeURIComponent(job) + "/logs?after=" + offset, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (chunks) {
        var current = document.getElementById("logs");
        if (!current) { return; }
        for (var i = 0; i < chunks.length; i++) {
          current.appendChild(document.createTextNode(chunks[i].text));
          current.setAttribute("data-offset", String(chunks[i].offset));
        }
        if (chunks.length) { current.scrollTop = current.scrollHeight; }
      })
      .finally(function () { setTimeout(follow, 2000); });
  }
  follow();
})();
