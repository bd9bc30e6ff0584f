// Personal live updates for every signed-in page (/ws/me): the unread-notifications badge, and
// the parts of a page marked data-live-refresh="actions" or "notification" fetched again when
// they change. Only a kind and a count travel on the socket; the page's own route (with its
// access checks and its filters) supplies the content.
(function () {
  "use strict";

  function showUnread(count) {
    document.querySelectorAll("[data-unread]").forEach(function (badge) {
      badge.textContent = count ? String(count) : "";
      badge.hidden = !count;
    });
  }

  function refresh(kind) {
    var parts = document.querySelectorAll('[data-live-refresh="' + kind + '"]');
    if (!parts.length) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live-Refresh": kind } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        parts.forEach(function (part) {
          var replacement = part.id && fresh.getElementById(part.id);
          if (replacement) part.replaceWith(replacement);
        });
      });
  }

  function connect(delay) {
    if (!document.body.dataset.userId) return;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/me");
    socket.onopen = function () { delay = 1000; };
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      showUnread(message.unread);
      if (message.kind !== "hello") refresh(message.kind);
    };
    socket.onclose = function (event) {
      if (event.code === 4401 || event.code === 4403) return; // signed out: do not knock again
      window.setTimeout(function () { connect(Math.min(delay * 2, 30000)); }, delay);
    };
  }

  document.addEventListener("DOMContentLoaded", function () { connect(1000); });
})();
