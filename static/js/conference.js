/* Roundtable: the conference's panels in the room (web/templates/conference/*).

   - form[data-notes-editor]  the live notes of the open item, for the chair and the
     minute-taker: saved as typed (600 ms after the last key, and at once on
     submit or when the field loses focus) to the JSON API with the version the
     text was typed on. The state line says "Saving…", "Saved" or what went
     wrong. When a live update brings someone else's save while this person is
     typing, their own text stays in the field and a warning says that saving
     will replace the other edit; a save that did replace one says so (last
     writer wins, never silently).
   - [data-hide-for="ID ID"]  hidden for those people: the read-only notes for the
     editors (who have the editor instead), the child's voice form for the family.
   No inline script is allowed (CSP); everything lives here. */
(function () {
  "use strict";

  var DEBOUNCE = 600;
  var local = {}; /* item id -> {text, base, dirty, timer, saving, again} */

  function me() {
    return (document.body && document.body.getAttribute("data-user-id")) || "";
  }

  function csrf() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function editorFor(itemId) {
    var forms = document.querySelectorAll("form[data-notes-editor][data-item-id='" + itemId + "']");
    for (var i = 0; i < forms.length; i++) {
      if (!forms[i].hidden) {
        return forms[i];
      }
    }
    return null;
  }

  function say(form, text, warning) {
    var line = form && form.querySelector("[data-notes-state]");
    if (line) {
      line.textContent = text;
      line.classList.toggle("notes-editor__state--warning", !!warning);
    }
  }

  function entry(form) {
    var id = form.getAttribute("data-item-id");
    if (!local[id]) {
      local[id] = {
        text: form.querySelector("textarea").value,
        base: parseInt(form.getAttribute("data-notes-version"), 10) || 0,
        dirty: false,
        timer: null,
        saving: false,
        again: false,
        warning: ""
      };
    }
    return local[id];
  }

  function save(form) {
    var id = form.getAttribute("data-item-id");
    var state = entry(form);
    if (state.timer) {
      clearTimeout(state.timer);
      state.timer = null;
    }
    if (state.saving) {
      state.again = true;
      return;
    }
    state.saving = true;
    state.dirty = false;
    var sent = state.text;
    say(form, "Saving…");
    fetch(form.getAttribute("data-notes-url"), {
      method: "PUT",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "x-csrftoken": csrf() },
      body: JSON.stringify({ text: sent, notes_version: state.base })
    }).then(function (response) {
      return response.json().then(function (body) {
        return { ok: response.ok, body: body };
      });
    }).then(function (result) {
      var current = editorFor(id) || form;
      state.saving = false;
      if (!result.ok) {
        state.dirty = true;
        say(current, "Not saved: " + (result.body.detail || "try again") + ". Your text is kept here.", true);
        return;
      }
      state.base = result.body.notes_version;
      if (result.body.overwrote) {
        state.warning = "Saved, but someone else had changed these notes since you began: your text replaced theirs.";
      }
      if (state.again || state.dirty) {
        state.again = false;
        save(current);
        return;
      }
      say(current, state.warning || "Saved", !!state.warning);
      state.warning = "";
    }).catch(function () {
      state.saving = false;
      state.dirty = true;
      say(editorFor(id) || form, "Not saved: the connection was lost. Your text is kept and will be saved when you type again.", true);
    });
  }

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form[data-notes-editor]");
    if (!form || event.target.tagName !== "TEXTAREA") {
      return;
    }
    var state = entry(form);
    state.text = event.target.value;
    state.dirty = true;
    say(form, "Not saved yet…");
    if (state.timer) {
      clearTimeout(state.timer);
    }
    state.timer = setTimeout(function () {
      save(editorFor(form.getAttribute("data-item-id")) || form);
    }, DEBOUNCE);
  });

  document.addEventListener("focusout", function (event) {
    var form = event.target.closest && event.target.closest("form[data-notes-editor]");
    if (form && local[form.getAttribute("data-item-id")] && local[form.getAttribute("data-item-id")].dirty) {
      save(form);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("form[data-notes-editor]");
    if (!form) {
      return;
    }
    event.preventDefault();
    var state = entry(form);
    state.text = form.querySelector("textarea").value;
    save(form);
  });

  /* After a live update of the notes: keep what this person is typing; adopt the
     server's text otherwise; show readers and editors their own part. */
  function settle() {
    var self = me();
    var readers = document.querySelectorAll("[data-hide-for]");
    for (var i = 0; i < readers.length; i++) {
      var editors = readers[i].getAttribute("data-hide-for").split(" ");
      readers[i].hidden = !!self && editors.indexOf(self) >= 0;
    }
    var forms = document.querySelectorAll("form[data-notes-editor]");
    for (var j = 0; j < forms.length; j++) {
      var form = forms[j];
      if (form.hidden) {
        continue;
      }
      var id = form.getAttribute("data-item-id");
      var state = local[id];
      if (!state) {
        continue;
      }
      var textarea = form.querySelector("textarea");
      var version = parseInt(form.getAttribute("data-notes-version"), 10) || 0;
      if (state.dirty || state.saving || state.timer) {
        textarea.value = state.text;
        if (version > state.base && !state.saving) {
          say(form, "Someone else saved these notes while you were typing; saving yours will replace theirs.", true);
        } else {
          say(form, state.saving ? "Saving…" : "Not saved yet…");
        }
      } else if (version >= state.base) {
        state.text = textarea.value;
        state.base = version;
        say(form, "Saved");
      } else {
        textarea.value = state.text; /* an older copy than ours: keep ours */
      }
    }
  }

  document.addEventListener("htmx:oobAfterSwap", settle);
  document.addEventListener("htmx:afterSettle", settle);
  document.addEventListener("DOMContentLoaded", settle);
})();
