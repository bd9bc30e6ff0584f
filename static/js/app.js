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

   The meeting room ([data-room]) gets the same bytes as everyone in its audience
   over the socket, so everything personal happens here, keyed on
   <body data-user-id>, after the page loads and after every swap:
   - [data-deadline="ISO"]       a turn's countdown to that instant, corrected by
                                 the server clock of the region it sits in
                                 ([data-server-now]); "Time is up" past it.
   - [data-elapsed-since="ISO"]  m:ss since that instant.
   - [data-when="flag flag…"]    shown only when every flag holds for the viewer:
                                 present, absent, hand-up, no-contribution, no-reply,
                                 no-point-of-order, floor-other, speaking.
   - [data-only-user="ID"]       shown only to that user.
   - [data-user-id], [data-owner-id] inside the room: .is-mine on the viewer's
                                 own, and their [data-mine-tag] shown.
   - input[data-room-version]    set to the newest room version seen, on submit.
   - form[data-preserve]         typed values, open <details data-keep-open> and
                                 focus survive a live update of their region;
                                 form[data-reset-on-success] clears after htmx
                                 posts it successfully (and data-close-on-success
                                 folds its <details>).
   - a room form's refusal (HX-Retarget) is swapped into #room-errors even though
     it is a 4xx; [data-dismiss-error] clears it.
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
    closed: "Connection lost — reconnecting…",
    stopped: "Not connected — reload the page"
  };
  /* Close codes after which the ws extension tries again by itself. */
  var RETRIED_CLOSE_CODES = [1006, 1011, 1012, 1013];
  var connectionState = null;

  function setConnectionState(state) {
    var previous = connectionState;
    connectionState = state;
    var nodes = document.querySelectorAll("[data-connection-status]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (node.getAttribute("data-state") === state) {
        continue;
      }
      node.setAttribute("data-state", state === "stopped" ? "closed" : state);
      node.textContent = node.getAttribute("data-text-" + state) || CONNECTION_TEXT[state];
    }
    var room = document.querySelector("[data-room]");
    if (!room) {
      return;
    }
    var lost = state === "closed" || state === "stopped";
    room.setAttribute("data-connection", lost ? "closed" : state);
    var banner = room.querySelector("[data-offline-banner]");
    if (banner) {
      banner.hidden = !lost;
    }
    if (previous !== state) {
      if (lost && previous === "open") {
        announce("The live connection was lost. Reconnecting.");
      } else if (state === "open" && (previous === "closed" || previous === "stopped")) {
        announce("Reconnected. The room is up to date.");
      }
    }
  }

  document.addEventListener("htmx:wsConnecting", function () {
    if (connectionState !== "closed") {
      setConnectionState("connecting");
    }
  });
  document.addEventListener("htmx:wsOpen", function () { setConnectionState("open"); });
  document.addEventListener("htmx:wsClose", function (event) {
    var close = event.detail && event.detail.event;
    var retried = !close || RETRIED_CLOSE_CODES.indexOf(close.code) >= 0;
    setConnectionState(retried ? "closed" : "stopped");
  });
  document.addEventListener("htmx:wsError", function () {
    if (connectionState !== "stopped") {
      setConnectionState("closed");
    }
  });

  /* A polite live region in the room for the few things worth saying aloud. */
  function announce(message) {
    var node = document.getElementById("room-announcer");
    if (!node) {
      return;
    }
    node.textContent = "";
    window.setTimeout(function () { node.textContent = message; }, 50);
  }

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
    tickRoom(now);
  }

  /* The room's clocks: a turn's deadline and how long the speaker has spoken.
     Times are the server's; serverOffset (server minus this browser) comes from
     the data-server-now of the newest region, so a browser whose clock is wrong
     still counts down correctly. */

  var serverOffset = 0;
  var announcedDeadline = null;

  function noteServerClock(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var nodes = [];
    if (scope.matches && scope.matches("[data-server-now]")) {
      nodes.push(scope);
    }
    var inner = scope.querySelectorAll("[data-server-now]");
    for (var i = 0; i < inner.length; i++) {
      nodes.push(inner[i]);
    }
    var newest = null;
    for (var j = 0; j < nodes.length; j++) {
      var at = Date.parse(nodes[j].getAttribute("data-server-now"));
      if (!isNaN(at) && (newest === null || at > newest)) {
        newest = at;
      }
    }
    if (newest !== null) {
      serverOffset = newest - Date.now();
    }
  }

  function tickRoom(now) {
    var serverNow = now + serverOffset;
    var deadlines = document.querySelectorAll("[data-deadline]");
    for (var i = 0; i < deadlines.length; i++) {
      var node = deadlines[i];
      var deadline = Date.parse(node.getAttribute("data-deadline"));
      if (isNaN(deadline)) {
        continue;
      }
      var left = Math.ceil((deadline - serverNow) / 1000);
      var over = left <= 0;
      var text = over ? "Time is up" : formatSeconds(left);
      if (node.textContent !== text) {
        node.textContent = text;
      }
      node.classList.toggle("timer--over", over);
      node.classList.toggle("timer--warning", !over && left <= 30);
      if (over && announcedDeadline !== node.getAttribute("data-deadline") && concernsMe()) {
        announcedDeadline = node.getAttribute("data-deadline");
        announce("Time is up for this turn.");
      }
    }
    var elapsed = document.querySelectorAll("[data-elapsed-since]");
    for (var k = 0; k < elapsed.length; k++) {
      var since = Date.parse(elapsed[k].getAttribute("data-elapsed-since"));
      if (isNaN(since)) {
        continue;
      }
      var spoken = formatSeconds(Math.max(0, Math.floor((serverNow - since) / 1000)));
      if (elapsed[k].textContent !== spoken) {
        elapsed[k].textContent = spoken;
      }
    }
  }

  /* "Time is up" is said aloud to the speaker and the chair only. */
  function concernsMe() {
    var me = myId();
    if (!me) {
      return false;
    }
    var floor = document.querySelector("[data-region='floor']");
    var status = document.querySelector("[data-region='status']");
    return (floor && floor.getAttribute("data-speaker-id") === me) ||
      (status && status.getAttribute("data-chair-id") === me);
  }

  /* Personalising the room ------------------------------------------------------ */

  function myId() {
    return (document.body && document.body.getAttribute("data-user-id")) || "";
  }

  function each(root, selector, fn) {
    var nodes = root.querySelectorAll(selector);
    for (var i = 0; i < nodes.length; i++) {
      fn(nodes[i]);
    }
  }

  var lastSpeaker = null;

  function personalise() {
    var room = document.querySelector("[data-room]");
    if (!room) {
      return;
    }
    var me = myId();
    var present = false;
    each(room, "[data-present-user-id]", function (node) {
      if (me && node.getAttribute("data-present-user-id") === me) {
        present = true;
      }
    });
    var kinds = {};
    var hands = 0;
    each(room, ".queue [data-user-id]", function (node) {
      if (me && node.getAttribute("data-user-id") === me) {
        hands += 1;
        kinds[node.getAttribute("data-hand-kind")] = true;
      }
    });
    var floor = room.querySelector("[data-region='floor']");
    var speaker = floor ? floor.getAttribute("data-speaker-id") || "" : "";
    var flags = {
      present: present,
      absent: !present,
      "hand-up": hands > 0,
      "no-contribution": !kinds.contribution,
      "no-reply": !kinds.reply,
      "no-point-of-order": !kinds.point_of_order,
      "floor-other": speaker !== "" && speaker !== me,
      speaking: speaker !== "" && speaker === me
    };
    each(room, "[data-when]", function (node) {
      var wanted = node.getAttribute("data-when").split(/\s+/);
      var show = true;
      for (var i = 0; i < wanted.length; i++) {
        if (wanted[i] && !flags[wanted[i]]) {
          show = false;
        }
      }
      node.hidden = !show;
    });
    each(room, "[data-only-user]", function (node) {
      node.hidden = !me || node.getAttribute("data-only-user") !== me;
    });
    each(room, "[data-user-id], [data-owner-id]", function (node) {
      var owner = node.getAttribute("data-user-id") || node.getAttribute("data-owner-id");
      var mine = !!me && owner === me;
      node.classList.toggle("is-mine", mine);
      var tag = node.querySelector("[data-mine-tag]");
      if (tag) {
        tag.hidden = !mine;
      }
    });
    if (lastSpeaker !== null && speaker !== lastSpeaker && flags.speaking) {
      announce("You have the floor.");
    }
    lastSpeaker = speaker;
  }

  /* The newest version of the room this browser has seen: "Next speaker" sends
     it, so a click made on an out-of-date picture is refused, not applied. */
  function roomVersion() {
    var newest = null;
    each(document, "[data-room] [data-version]", function (node) {
      var version = parseInt(node.getAttribute("data-version"), 10);
      if (!isNaN(version) && (newest === null || version > newest)) {
        newest = version;
      }
    });
    return newest;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.querySelectorAll) {
      return;
    }
    var version = roomVersion();
    if (version === null) {
      return;
    }
    each(form, "input[data-room-version]", function (input) {
      input.value = String(version);
    });
  }, true);

  /* Typed input survives live updates ------------------------------------------ */

  var snapshots = {};

  function fieldsOf(form) {
    return form.querySelectorAll("input, textarea, select");
  }

  function snapshot(region) {
    var state = { open: [], forms: {}, focus: null };
    each(region, "details[data-keep-open][id]", function (details) {
      if (details.open) {
        state.open.push(details.id);
      }
    });
    each(region, "form[data-preserve][id]", function (form) {
      var values = [];
      var fields = fieldsOf(form);
      for (var i = 0; i < fields.length; i++) {
        var field = fields[i];
        if (!field.name || field.type === "hidden" || field.type === "submit") {
          continue;
        }
        if (field.type === "checkbox" || field.type === "radio") {
          values.push({ name: field.name, value: field.value, checked: field.checked });
        } else {
          values.push({ name: field.name, value: field.value });
        }
      }
      state.forms[form.id] = values;
    });
    var active = document.activeElement;
    if (active && active.id && region.contains(active)) {
      state.focus = { id: active.id, start: null, end: null };
      try {
        state.focus.start = active.selectionStart;
        state.focus.end = active.selectionEnd;
      } catch (ignored) {
        /* selection is not available on every kind of input */
      }
    }
    return state;
  }

  function restore(region, state) {
    for (var i = 0; i < state.open.length; i++) {
      var details = document.getElementById(state.open[i]);
      if (details && region.contains(details)) {
        details.open = true;
      }
    }
    Object.keys(state.forms).forEach(function (formId) {
      var form = document.getElementById(formId);
      if (!form || !region.contains(form)) {
        return;
      }
      state.forms[formId].forEach(function (saved) {
        var fields = form.elements;
        for (var j = 0; j < fields.length; j++) {
          var field = fields[j];
          if (field.name !== saved.name) {
            continue;
          }
          if (field.type === "checkbox" || field.type === "radio") {
            if (field.value === saved.value) {
              field.checked = saved.checked;
            }
          } else if (field.tagName === "SELECT") {
            if (Array.prototype.some.call(field.options, function (option) { return option.value === saved.value; })) {
              field.value = saved.value;
            }
          } else {
            field.value = saved.value;
          }
        }
      });
    });
    if (state.focus) {
      var target = document.getElementById(state.focus.id);
      if (target && region.contains(target)) {
        target.focus({ preventScroll: true });
        if (state.focus.start !== null) {
          try {
            target.setSelectionRange(state.focus.start, state.focus.end);
          } catch (ignored) {
            /* not a text field */
          }
        }
      }
    }
  }

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id && target.closest && target.closest("[data-room]")) {
      snapshots[target.id] = snapshot(target);
    }
  });

  function afterRoomSwap(event) {
    var node = event.target;
    if (node && node.id && snapshots[node.id]) {
      var state = snapshots[node.id];
      delete snapshots[node.id];
      restore(node, state);
    }
    if (node && node.nodeType === 1) {
      noteServerClock(node);
      if (node.matches && node.matches("[data-region='status']")) {
        connectionState && setConnectionState(connectionState);
      }
    }
    personalise();
    tick();
  }

  /* After a room form is accepted: clear it, fold it if asked, and clear any
     earlier refusal. htmx tells the nearest ancestor still in the page when a
     live update replaced the form meanwhile, so look the form up by id. */
  document.addEventListener("htmx:afterRequest", function (event) {
    var detail = event.detail || {};
    var elt = detail.elt;
    var room = document.querySelector("[data-room]");
    if (!room || !elt || !detail.xhr || detail.xhr.status >= 400 || !detail.successful) {
      return;
    }
    var current = elt.isConnected ? elt : (elt.id ? document.getElementById(elt.id) : null);
    if (elt.isConnected && !room.contains(elt)) {
      return;
    }
    var errors = document.getElementById("room-errors");
    if (errors) {
      errors.textContent = "";
    }
    if (current && current.tagName === "FORM" && current.hasAttribute("data-reset-on-success")) {
      current.reset();
      if (current.hasAttribute("data-close-on-success")) {
        var details = current.closest("details");
        if (details) {
          details.open = false;
        }
      }
    }
  });

  /* A refusal answers 4xx with HX-Retarget: #room-errors; show it (htmx would
     otherwise drop an error response). */
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail || {};
    var xhr = detail.xhr;
    if (xhr && xhr.status >= 400 && xhr.getResponseHeader("HX-Retarget") === "#room-errors") {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  document.addEventListener("htmx:sendError", function (event) {
    var errors = document.getElementById("room-errors");
    var elt = event.detail && event.detail.elt;
    if (errors && elt && elt.closest && elt.closest("[data-room]")) {
      errors.innerHTML = "";
      var box = document.createElement("div");
      box.className = "room-error";
      var text = document.createElement("p");
      text.textContent = "Could not reach the server. Check the connection and try again.";
      box.appendChild(text);
      errors.appendChild(box);
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-dismiss-error]");
    if (button) {
      var errors = document.getElementById("room-errors");
      if (errors) {
        errors.textContent = "";
      }
    }
  });

  /* Start-up ----------------------------------------------------------------- */

  function ready() {
    focusErrorSummary(document);
    noteServerClock(document);
    personalise();
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
  document.addEventListener("htmx:oobAfterSwap", afterRoomSwap);
  document.addEventListener("htmx:wsAfterMessage", function () {
    personalise();
    tick();
  });
  document.addEventListener("htmx:afterSettle", personalise);
})();
