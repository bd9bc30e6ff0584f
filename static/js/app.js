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
   - a room form's refusal comes back as the region holding the form, with the
     message beside the field (X-Room-Refusal): htmx is let swap the 4xx, and focus
     goes to the message. Other refusals (HX-Retarget) go into #room-errors;
     [data-dismiss-error] clears it.
   - focus survives a live update: the control the viewer last used (its form's
     id) is focused again in the new region, or, when it is gone or hidden, the
     first control of the same [data-focus-group], else the region's heading.
   - #room-announcer says a new item, the viewer's place in the queue, a hand
     raised (to the chair), a decision recorded, "You have the floor".
   - [data-static-notice] (no JavaScript: "does not update by itself") is hidden
     and [data-connection-status] shown once this script runs.
   - [data-present] (the shared screen) reads itself again at each socket
     message instead of swapping the room's regions.
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
      node.hidden = false;
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
    var said = [];
    if (lastSpeaker !== null && speaker !== lastSpeaker && flags.speaking) {
      said.push("You have the floor.");
    }
    lastSpeaker = speaker;
    said = said.concat(whatChanged(room, me, speaker));
    if (said.length) {
      announce(said.join(" "));
    }
  }

  /* What is worth saying aloud since the room was last looked at: a new item,
     the viewer's place in the queue, a hand raised (said to the chair only) and
     a decision recorded. The first look only takes note. */
  var seen = null;

  function ordinal(n) {
    var words = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"];
    return words[n - 1] || ("number " + n);
  }

  function whatChanged(room, me, speaker) {
    var floor = room.querySelector("[data-region='floor']");
    var status = room.querySelector("[data-region='status']");
    var isChair = !!me && status && status.getAttribute("data-chair-id") === me;
    var now = { item: floor ? floor.getAttribute("data-open-item") || "" : "", place: 0, hands: {}, decisions: {} };
    var entries = room.querySelectorAll(".queue [data-hand-id]");
    var names = {};
    for (var i = 0; i < entries.length; i++) {
      var id = entries[i].getAttribute("data-hand-id");
      now.hands[id] = true;
      names[id] = entries[i].getAttribute("data-name") || "Someone";
      if (!now.place && me && entries[i].getAttribute("data-user-id") === me) {
        now.place = i + 1;
      }
    }
    var decisionNodes = room.querySelectorAll("[data-decision-id]");
    var decisionWords = {};
    for (var j = 0; j < decisionNodes.length; j++) {
      var did = decisionNodes[j].getAttribute("data-decision-id");
      now.decisions[did] = true;
      decisionWords[did] = decisionNodes[j].getAttribute("data-announce") || "A decision was recorded.";
    }
    var before = seen;
    seen = now;
    if (!before) {
      return [];
    }
    var said = [];
    if (now.item && now.item !== before.item) {
      said.push("Now discussing " + now.item + ".");
    }
    if (now.place && now.place !== before.place && speaker !== me) {
      said.push(now.place === 1 ? "You are next to speak." : "You are " + ordinal(now.place) + " in the queue.");
    }
    if (isChair) {
      var raised = Object.keys(now.hands).filter(function (h) { return !before.hands[h]; });
      if (raised.length === 1) {
        said.push(names[raised[0]] + " raised a hand.");
      } else if (raised.length > 1) {
        said.push(raised.length + " hands raised.");
      }
    }
    Object.keys(now.decisions).forEach(function (d) {
      if (!before.decisions[d]) {
        said.push(decisionWords[d]);
      }
    });
    return said;
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

  /* The room control the viewer last used: a button that htmx disables while
     its form posts loses focus to the page body, so the snapshot below falls back
     on this. */
  var lastUsed = null;

  document.addEventListener("focusin", function (event) {
    var node = event.target;
    var form = node && node.closest && node.closest("[data-room] form[id]");
    if (form) {
      var group = form.closest("[data-focus-group]");
      lastUsed = { form: form.id, id: node.id || null, group: group ? group.getAttribute("data-focus-group") : null, at: Date.now() };
    }
  });

  function focusKey(region) {
    var active = document.activeElement;
    if (active && active !== document.body && region.contains(active)) {
      var form = active.closest("form[id]");
      var group = active.closest("[data-focus-group]");
      return {
        id: active.id || null,
        form: form ? form.id : null,
        group: group ? group.getAttribute("data-focus-group") : null,
        start: null,
        end: null
      };
    }
    var idle = !active || active === document.body;
    if (idle && lastUsed && Date.now() - lastUsed.at < 10000 && document.getElementById(lastUsed.form) &&
        region.contains(document.getElementById(lastUsed.form))) {
      return { id: lastUsed.id, form: lastUsed.form, group: lastUsed.group, start: null, end: null };
    }
    return null;
  }

  function visible(node) {
    return !!node && node.getClientRects().length > 0 && !node.closest("[hidden]") && !node.disabled;
  }

  function refocus(region, key) {
    var target = key.id ? document.getElementById(key.id) : null;
    if (!visible(target) || !region.contains(target)) {
      var form = key.form ? document.getElementById(key.form) : null;
      target = form && region.contains(form) ? form.querySelector("button[type='submit'], button:not([type])") : null;
    }
    if (!visible(target) && key.group) {
      var group = region.querySelector("[data-focus-group='" + key.group + "']");
      var buttons = group ? group.querySelectorAll("button, a[href], input:not([type='hidden'])") : [];
      target = null;
      for (var i = 0; i < buttons.length && !target; i++) {
        if (visible(buttons[i])) {
          target = buttons[i];
        }
      }
    }
    if (!visible(target)) {
      target = region.querySelector("h1, h2");
      if (target) {
        target.setAttribute("tabindex", "-1");
      }
    }
    if (target) {
      target.focus({ preventScroll: true });
      if (key.start !== null && key.start !== undefined) {
        try {
          target.setSelectionRange(key.start, key.end);
        } catch (ignored) {
          /* not a text field */
        }
      }
    }
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
    state.focus = focusKey(region);
    var active = document.activeElement;
    if (state.focus && active && active.id && active.id === state.focus.id) {
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
  }

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id && target.closest && target.closest("[data-room]")) {
      snapshots[target.id] = snapshot(target);
    }
  });

  function afterRoomSwap(event) {
    var node = event.target;
    var state = null;
    if (node && node.id && snapshots[node.id]) {
      state = snapshots[node.id];
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
    /* After personalising, so that a control hidden for this viewer is skipped. */
    if (state && state.focus) {
      refocus(node, state.focus);
    }
  }

  /* After a room form is accepted: clear it, fold it if asked, and clear any
     earlier refusal. The live update of the form's region often arrives before
     the form's own answer and replaces the form: htmx then tells only the form
     that was sent, now out of the page, so the event never reaches the
     document. Each room form is therefore listened to itself, from the moment
     it is sent; its replacement, if any, has its id. */
  document.addEventListener("htmx:beforeRequest", function (event) {
    var sent = event.detail && event.detail.elt;
    if (sent && sent.tagName === "FORM" && sent.closest("[data-room]")) {
      sent.addEventListener("htmx:afterRequest", formAnswered, { once: true });
    }
  });

  function formAnswered(event) {
    var detail = event.detail || {};
    var sent = event.currentTarget;
    if (!detail.xhr || detail.xhr.status >= 400 || !detail.successful) {
      return;
    }
    var current = sent.isConnected ? sent : (sent.id ? document.getElementById(sent.id) : null);
    var errors = document.getElementById("room-errors");
    if (errors) {
      errors.textContent = "";
    }
    if (current && current.tagName === "FORM" && current.hasAttribute("data-reset-on-success")) {
      current.reset();
      /* What was typed is sent and done with: a live update that saved it to
         carry over its swap must not bring it back. */
      Object.keys(snapshots).forEach(function (regionId) {
        delete snapshots[regionId].forms[current.id];
      });
      if (current.hasAttribute("data-close-on-success")) {
        var details = current.closest("details");
        if (details) {
          details.open = false;
        }
      }
    }
  }

  /* A refusal answers 4xx with HX-Retarget: #room-errors; show it (htmx would
     otherwise drop an error response). */
  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail || {};
    var xhr = detail.xhr;
    if (xhr && xhr.status >= 400 && (xhr.getResponseHeader("HX-Retarget") === "#room-errors" ||
        xhr.getResponseHeader("X-Room-Refusal"))) {
      detail.shouldSwap = true;
      detail.isError = false;
    }
  });

  /* A refused form came back beside itself: focus its message. */
  document.addEventListener("htmx:afterRequest", function (event) {
    var xhr = event.detail && event.detail.xhr;
    var formId = xhr && xhr.status >= 400 ? xhr.getResponseHeader("X-Room-Refusal") : null;
    if (!formId) {
      return;
    }
    var errors = document.getElementById("room-errors");
    if (errors) {
      errors.textContent = "";
    }
    var form = document.getElementById(formId);
    var message = form && (form.querySelector("[data-room-refusal][autofocus]") || form.querySelector("[data-room-refusal]"));
    if (message && form.closest("[hidden]") && errors) {
      /* The form is not one this viewer is offered now: say it at the top instead. */
      errors.appendChild(alertBox(message.textContent.replace(/^\s*(Not done:|Error:)\s*/, "")));
      return;
    }
    if (message) {
      var details = message.closest("details");
      if (details) {
        details.open = true;
      }
      message.scrollIntoView({ block: "center" });
      message.focus({ preventScroll: true });
    }
  });

  /* The same box as live/_error.html: the reason, and a button to dismiss it. */
  function alertBox(words) {
    var box = document.createElement("div");
    box.className = "room-error";
    box.setAttribute("data-room-error", "");
    var text = document.createElement("p");
    var strong = document.createElement("strong");
    strong.textContent = "Not done:";
    text.appendChild(strong);
    text.appendChild(document.createTextNode(" " + words));
    box.appendChild(text);
    var dismiss = document.createElement("button");
    dismiss.className = "button button--link button--small";
    dismiss.type = "button";
    dismiss.setAttribute("data-dismiss-error", "");
    dismiss.textContent = "Dismiss";
    box.appendChild(dismiss);
    return box;
  }

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

  /* This script runs: the room updates by itself, so the no-script notice goes
     and the live connection's state shows. */
  function scripted(root) {
    each(root || document, "[data-static-notice]", function (node) { node.hidden = true; });
    each(root || document, "[data-connection-status]", function (node) {
      node.hidden = false;
      if (connectionState) {
        node.setAttribute("data-state", connectionState === "stopped" ? "closed" : connectionState);
        node.textContent = node.getAttribute("data-text-" + connectionState) || CONNECTION_TEXT[connectionState];
      }
    });
  }

  /* The shared screen: each socket message means the room changed; read the
     screen again (at most every 150 ms), rather than swapping room regions in. */
  var presentTimer = null;

  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var present = event.target && event.target.closest && event.target.closest("[data-present]");
    if (!present) {
      return;
    }
    event.preventDefault();
    if (presentTimer === null) {
      presentTimer = window.setTimeout(function () {
        presentTimer = null;
        window.htmx.trigger(present, "room-changed");
      }, 150);
    }
  });

  function ready() {
    scripted(document);
    var refused = document.querySelector("[data-room-refusal][autofocus]");
    if (refused) {
      refused.focus();
    }
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
    if (document.querySelector("[data-present]")) {
      scripted(document);
      noteServerClock(document);
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
