/* Roundtable: the little behaviour the pages need beyond htmx.
   No inline script is allowed (Content-Security-Policy), so everything lives here.
   Every feature is opt-in through a data- attribute and works on content that
   htmx swaps in later.

   - [data-error-summary]        focused when the page loads or it is swapped in,
                                 so screen-reader and keyboard users land on it.
   - form[data-confirm="…"]      asks before submitting (e.g. "Close the meeting?").
   - [data-connection-status]    data-state="connecting|open|closed" and its text
                                 follow the htmx websocket extension's events.
   - [data-countdown="SECONDS"]  counts down from the seconds left when rendered,
                                 showing m:ss (with a minus sign past zero); adds
                                 .timer--warning in the last data-countdown-warn
                                 seconds (default 30) and .timer--over past zero.
*/
(function () {
  "use strict";

  /* Error summary ---------------------------------------------------------- */

  function focusErrorSummary(root) {
    var scope = root && root.querySelector ? root : document;
    var summary = scope.matches && scope.matches("[data-error-summary]")
      ? scope
      : scope.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  }

  /* Clicking a link in the summary moves focus to the control, and scrolls
     its label into view too (the browser would hide it above the input). */
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".error-summary__list a[href^='#']");
    if (!link) {
      return;
    }
    var input = document.getElementById(link.getAttribute("href").slice(1));
    if (!input) {
      return;
    }
    event.preventDefault();
    var group = input.closest(".form-group, .fieldset") || input;
    group.scrollIntoView();
    input.focus({ preventScroll: true });
  });

  /* Confirmation ----------------------------------------------------------- */

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  /* Live connection status --------------------------------------------------- */

  var CONNECTION_TEXT = {
    connecting: "Connecting…",
    open: "Live",
    closed: "Connection lost — reconnecting…"
  };

  function setConnectionState(state) {
    var nodes = document.querySelectorAll("[data-connection-status]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (node.getAttribute("data-state") === state) {
        continue;
      }
      node.setAttribute("data-state", state);
      node.textContent = node.getAttribute("data-text-" + state) || CONNECTION_TEXT[state];
    }
  }

  document.addEventListener("htmx:wsConnecting", function () { setConnectionState("connecting"); });
  document.addEventListener("htmx:wsOpen", function () { setConnectionState("open"); });
  document.addEventListener("htmx:wsClose", function () { setConnectionState("closed"); });
  document.addEventListener("htmx:wsError", function () { setConnectionState("closed"); });

  /* Countdown ---------------------------------------------------------------- */

  var started = new WeakMap();

  function formatSeconds(total) {
    var sign = total < 0 ? "−" : "";
    var abs = Math.abs(total);
    var minutes = Math.floor(abs / 60);
    var seconds = abs % 60;
    return sign + minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
  }

  function tick() {
    var nodes = document.querySelectorAll("[data-countdown]");
    var now = Date.now();
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      var initial = parseInt(node.getAttribute("data-countdown"), 10);
      if (isNaN(initial)) {
        continue;
      }
      var first = started.get(node);
      if (!first || first.initial !== initial) {
        first = { at: now, initial: initial };
        started.set(node, first);
      }
      var left = initial - Math.floor((now - first.at) / 1000);
      var warn = parseInt(node.getAttribute("data-countdown-warn") || "30", 10);
      var text = formatSeconds(left);
      if (node.textContent !== text) {
        node.textContent = text;
      }
      node.classList.toggle("timer--over", left < 0);
      node.classList.toggle("timer--warning", left >= 0 && left <= warn);
    }
  }

  /* Start-up ----------------------------------------------------------------- */

  function ready() {
    focusErrorSummary(document);
    tick();
    window.setInterval(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }

  /* Content swapped in by htmx (forms re-rendered with errors, live regions). */
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.querySelector && target.querySelector("[data-error-summary]")) {
      focusErrorSummary(target);
    }
    tick();
  });
  document.addEventListener("htmx:oobAfterSwap", tick);
})();
