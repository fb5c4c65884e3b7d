// Eligo annotation view: selection, keyboard shortcuts, relation arcs.
// Every action is one htmx POST carrying the sentence version; the server answers
// with the re-rendered #sentence fragment (200 applied, 422 refused, 409 conflict).
(function () {
  "use strict";

  var state = { selected: null, tail: null, relation: null };
  var queue = Promise.resolve();
  var WORD = /[\p{L}\p{N}]/u;
  var SPACE = /\s/;

  function root() { return document.getElementById("sentence"); }
  function textEl() { return document.getElementById("ann-text"); }
  function csrf() {
    var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    return headers["X-CSRFToken"];
  }

  // --- talking to the server -------------------------------------------------------
  function post(url, values) {
    queue = queue.then(function () {
      values.version = root().dataset.version;
      return htmx.ajax("POST", url, {
        target: "#sentence", swap: "outerHTML", values: values,
        headers: { "X-CSRFToken": csrf() },
      });
    }).catch(function () {});
    return queue;
  }
  function act(action, values) {
    post(root().dataset.actionUrl.replace(/x\/$/, action + "/"), values || {});
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 409 || status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // afterSwap runs in the same task as the swap, so no click can land between the new
  // fragment appearing and the selection state being cleared (afterSettle comes ~20 ms later).
  // Only swaps of the sentence itself (not e.g. the lazily loaded suggestions) reset it.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target && event.target.id === "sentence") { reset(); draw(); syncUndo(); resumeCaret(); }
  });

  // --- per-tab undo: each tab keeps its id in sessionStorage and sends it with every request --
  var TAB = (function () {
    try {
      var id = sessionStorage.getItem("eligo-tab");
      if (!id) {
        id = "t" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
        sessionStorage.setItem("eligo-tab", id);
      }
      return id;
    } catch (e) { return ""; }
  })();
  document.addEventListener("htmx:configRequest", function (event) {
    if (TAB) event.detail.headers["X-Eligo-Tab"] = TAB;
  });

  // The page lists, per tab, what can be undone and redone on this criterion; show ours.
  function syncUndo() {
    var r = root();
    if (!r) return;
    var labels = JSON.parse(r.dataset.undo || "{}")[TAB] || ["", ""];
    [["undo", labels[0], "Ctrl+Z"], ["redo", labels[1], "Ctrl+Shift+Z or Ctrl+Y"]].forEach(function (b) {
      var button = r.querySelector('[data-act="' + b[0] + '"]');
      if (!button) return;
      button.disabled = !b[1];
      button.title = (b[1] ? b[0].charAt(0).toUpperCase() + b[0].slice(1) + " " + b[1] : "Nothing to " + b[0]) + " (" + b[2] + ")";
    });
  }

  // --- offsets: DOM selection <-> document character offsets ---------------------------
  function offsetAt(node, offset) {
    var container = textEl();
    var range = document.createRange();
    range.setStart(container, 0);
    range.setEnd(node, offset);
    var copy = range.cloneContents();
    copy.querySelectorAll(".chip").forEach(function (chip) { chip.remove(); });
    return Number(container.dataset.start) + copy.textContent.length;
  }

  function selectedSpan() {
    var selection = window.getSelection();
    var container = textEl();
    if (!container || !selection.rangeCount || selection.isCollapsed) return null;
    var range = selection.getRangeAt(0);
    if (!range.intersectsNode(container)) return null;
    var whole = document.createRange();
    whole.selectNodeContents(container);
    var text = root().dataset.text, base = Number(container.dataset.start);
    var start = range.compareBoundaryPoints(Range.START_TO_START, whole) < 0
      ? base : offsetAt(range.startContainer, range.startOffset);
    var end = range.compareBoundaryPoints(Range.END_TO_END, whole) > 0
      ? base + text.length : offsetAt(range.endContainer, range.endOffset);
    return snap(start - base, end - base, text, base);
  }

  // Trim whitespace, then grow both ends to whole words.
  function snap(s, e, text, base) {
    while (s < e && SPACE.test(text[s])) s++;
    while (e > s && SPACE.test(text[e - 1])) e--;
    if (s >= e) return null;
    while (s > 0 && WORD.test(text[s - 1]) && WORD.test(text[s])) s--;
    while (e < text.length && WORD.test(text[e]) && WORD.test(text[e - 1])) e++;
    return [base + s, base + e];
  }

  function domPoint(offset, atEnd) {
    var segs = textEl().querySelectorAll(".seg");
    for (var i = 0; i < segs.length; i++) {
      var s = Number(segs[i].dataset.s), e = Number(segs[i].dataset.e);
      if (atEnd ? (s < offset && offset <= e) : (s <= offset && offset < e)) {
        return [segs[i].lastChild, offset - s];
      }
    }
    return null;
  }

  function showSelection(span) {
    var a = domPoint(span[0], false), b = domPoint(span[1], true);
    if (!a || !b) return;
    var range = document.createRange();
    range.setStart(a[0], a[1]);
    range.setEnd(b[0], b[1]);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // --- entity / relation selection -----------------------------------------------------
  function entityItem(id) { return document.querySelector('#entity-list li[data-entity-id="' + id + '"]'); }
  function typeOf(id) { var li = entityItem(id); return li ? Number(li.dataset.typeId) : null; }

  function reset() { state.selected = state.tail = state.relation = null; paint(); }

  function paint() {
    var r = root();
    if (!r) return;
    r.querySelectorAll(".is-selected, .is-tail").forEach(function (el) {
      el.classList.remove("is-selected", "is-tail");
    });
    mark(state.selected, "is-selected");
    mark(state.tail, "is-tail");
    if (state.relation) {
      r.querySelectorAll('[data-relation-id="' + state.relation + '"]').forEach(function (el) {
        el.classList.add("is-selected");
      });
    }
    r.querySelectorAll(".rel-btn").forEach(function (btn) {
      btn.disabled = !(state.selected && state.tail && allowed(btn));
    });
    hint();
  }

  function mark(id, cls) {
    if (!id) return;
    root().querySelectorAll('.seg[data-ents~="' + id + '"], [data-entity-id="' + id + '"]')
      .forEach(function (el) { el.classList.add(cls); });
  }

  function allowed(btn) {
    var heads = btn.dataset.heads.trim(), tails = btn.dataset.tails.trim();
    var h = String(typeOf(state.selected)), t = String(typeOf(state.tail));
    return (!heads || heads.split(/\s+/).indexOf(h) >= 0) && (!tails || tails.split(/\s+/).indexOf(t) >= 0);
  }

  function label(id) { var li = entityItem(id); return li ? li.dataset.type + " “" + li.dataset.text + "”" : ""; }

  function hint() {
    var el = document.getElementById("ann-hint");
    if (!el) return;
    if (state.selected && state.tail) {
      var names = Array.prototype.filter.call(document.querySelectorAll(".rel-btn"), allowed)
        .map(function (b) { return b.title; });
      el.textContent = label(state.selected) + " → " + label(state.tail) + ": " +
        (names.length ? "press a relation key (" + names.join(", ") + ")" : "no relation type allows these types");
    } else if (state.selected) {
      el.textContent = label(state.selected) + " selected: type key changes its type, Del deletes, Shift+drag extends, click another entity for a relation";
    } else if (state.relation) {
      el.textContent = "Relation selected: Del deletes it";
    } else {
      el.textContent = "Select text and press a type key · click an entity, then another, for a relation · ? for help";
    }
  }

  function clickEntity(id) {
    window.getSelection().removeAllRanges();
    state.relation = null;
    if (!state.selected) state.selected = id;
    else if (state.selected === id && !state.tail) state.selected = null;
    else if (!state.tail && state.selected !== id) state.tail = id;
    else { state.selected = id; state.tail = null; }
    paint();
  }

  // --- actions ---------------------------------------------------------------------
  function entityTypeByKey(key) {
    return Array.prototype.find.call(document.querySelectorAll(".type-btn"), function (b) {
      return b.dataset.key && b.dataset.key.toLowerCase() === key.toLowerCase();
    });
  }
  function relationTypeByKey(key) {
    return Array.prototype.find.call(document.querySelectorAll(".rel-btn"), function (b) {
      return b.dataset.key && b.dataset.key.toLowerCase() === key.toLowerCase() && allowed(b);
    });
  }

  function applyEntityType(typeId) {
    var span = selectedSpan();
    if (span) {
      window.getSelection().removeAllRanges();
      act("entity-create", { type: typeId, fragments: JSON.stringify([span]) });
    } else if (state.selected) {
      act("entity-type", { entity: state.selected, type: typeId });
    }
  }

  function applyRelationType(typeId) {
    if (state.selected && state.tail) {
      act("relation-create", { type: typeId, head: state.selected, tail: state.tail });
    }
  }

  function deleteSelected() {
    if (state.relation) act("relation-delete", { relation: state.relation });
    else if (state.selected && !state.tail) act("entity-delete", { entity: state.selected });
  }

  function undo() { post(root().dataset.undoUrl, {}); }
  function redo() { post(root().dataset.redoUrl, {}); }
  function setStatus(status, advance) { act("status", { status: status, advance: advance ? "on" : "" }); }
  function go(which) { window.location.href = root().dataset[which + "Url"]; }

  function toggleHelp(force) {
    var dialog = document.getElementById("help");
    if (!dialog) return;
    var open = force === undefined ? !dialog.open : force;
    if (open && !dialog.open) {
      dialog.showModal();
      // showModal focuses the Close button at the bottom, which scrolls the dialog down
      dialog.querySelector("h2").focus({ preventScroll: true });
      dialog.scrollTop = 0;
    }
    if (!open && dialog.open) dialog.close();
  }

  // --- events ------------------------------------------------------------------------
  document.addEventListener("mouseup", function (event) {
    if (!textEl() || !textEl().contains(event.target)) return;
    var span = selectedSpan();
    if (!span) return;
    if (event.shiftKey && state.selected) {
      window.getSelection().removeAllRanges();
      act("entity-extend", { entity: state.selected, fragments: JSON.stringify([span]) });
      return;
    }
    state.selected = state.tail = state.relation = null;
    caret = null;
    paint();
    showSelection(span);
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!root() || !root().contains(target)) return;
    var button = target.closest("[data-act]");
    if (button) return onButton(button, event);
    var typeBtn = target.closest(".type-btn");
    if (typeBtn) return applyEntityType(typeBtn.dataset.typeId);
    var relBtn = target.closest(".rel-btn");
    if (relBtn) return applyRelationType(relBtn.dataset.relationTypeId);
    if (target.closest("form, details")) return;
    var relation = target.closest("[data-relation-id]");
    if (relation) { state.selected = state.tail = null; state.relation = relation.dataset.relationId; return paint(); }
    if (!window.getSelection().isCollapsed) return;
    var chip = target.closest("[data-entity-id]");
    if (chip) return clickEntity(chip.dataset.entityId);
    var seg = target.closest(".seg.ent");
    if (seg) return clickEntity(seg.dataset.ents.split(" ")[0]);
    if (target.closest(".ann-text")) reset();
  });

  function onButton(button, event) {
    var what = button.dataset.act;
    if (what === "undo") undo();
    else if (what === "redo") redo();
    else if (what === "done") requestDone();
    else if (what === "done-confirmed") setStatus("done", true);
    else if (what === "done-cancel") confirmDone(false);
    else if (what === "delete-attribute") act("attribute-delete", { attribute: button.closest("[data-attribute-id]").dataset.attributeId });
    else if (what === "delete-note") act("note-delete", { note: button.closest("[data-note-id]").dataset.noteId });
    else if (what === "remove-member") act("group-remove", { member: button.closest("[data-member-id]").dataset.memberId });
    else if (what === "reviewed") setStatus("reviewed", false);
    else if (what === "help") toggleHelp(true);
    else if (what === "delete-entity") act("entity-delete", { entity: button.closest("li").dataset.entityId });
    else if (what === "delete-relation") act("relation-delete", { relation: button.closest("li").dataset.relationId });
    else if (what === "delete-normalization") act("normalization-delete", { normalization: button.closest("li").dataset.normalizationId });
    event.stopPropagation();
  }

  document.addEventListener("mouseover", function (event) {
    var seg = event.target.closest && event.target.closest(".seg.ent, .chip[data-entity-id], #entity-list li");
    root() && root().querySelectorAll(".is-hover").forEach(function (el) { el.classList.remove("is-hover"); });
    if (!seg) return;
    var id = seg.dataset.entityId || seg.dataset.ents.split(" ")[0];
    mark(id, "is-hover");
  });

  // --- Done: asks first when the criterion has no annotation ---------------------------------
  function requestDone() {
    if (Number(root().dataset.entityCount) > 0) return setStatus("done", true);
    confirmDone(true);
  }
  function confirmDone(show) {
    var box = document.getElementById("done-confirm");
    if (!box) return;
    box.hidden = !show;
    if (show) box.querySelector('[data-act="done-confirmed"]').focus();
  }
  function confirming() { var box = document.getElementById("done-confirm"); return box && !box.hidden; }

  // Enter, Space and the like belong to links, buttons and form fields when they have focus.
  function interactive(el) {
    return !!(el && el.closest && el.closest("a[href], button, input, select, textarea, summary, [contenteditable]"));
  }

  // --- keyboard span selection: a word caret in the focused text -----------------------------
  // ←/→ move over words, Shift+←/→ extend the selection, a type key annotates it.
  var TOKEN = /[\p{L}\p{N}]+|\S/gu;
  var caret = null;     // {anchor, focus}: token indices
  var resume = null;    // after a keyboard annotation: refocus the text at this document offset

  function tokens() {
    var text = root().dataset.text, found = [], m;
    TOKEN.lastIndex = 0;
    while ((m = TOKEN.exec(text))) found.push([m.index, m.index + m[0].length]);
    return found;
  }
  function inText() { return textEl() && document.activeElement === textEl(); }
  function selectionInText() {
    var selection = window.getSelection();
    return textEl() && selection.rangeCount && !selection.isCollapsed &&
      selection.getRangeAt(0).intersectsNode(textEl());
  }
  function caretFromSelection(list) {
    var span = selectedSpan();
    if (!span) return null;
    var base = Number(textEl().dataset.start), first = -1, last = -1;
    list.forEach(function (t, i) {
      if (t[0] + base < span[1] && t[1] + base > span[0]) { if (first < 0) first = i; last = i; }
    });
    return first < 0 ? null : { anchor: first, focus: last };
  }
  function moveCaret(step, extend) {
    var list = tokens();
    if (!list.length) return;
    if (!caret || !selectionInText()) caret = caretFromSelection(list);
    if (!caret) {
      var i = step > 0 ? 0 : list.length - 1;
      caret = { anchor: i, focus: i };
    } else if (extend) {
      caret.focus = Math.max(0, Math.min(list.length - 1, caret.focus + step));
    } else {
      var next = Math.max(0, Math.min(list.length - 1, (step > 0 ? Math.max(caret.anchor, caret.focus) : Math.min(caret.anchor, caret.focus)) + step));
      caret = { anchor: next, focus: next };
    }
    showCaret(list);
  }
  function showCaret(list) {
    var base = Number(textEl().dataset.start);
    var a = list[Math.min(caret.anchor, caret.focus)], b = list[Math.max(caret.anchor, caret.focus)];
    state.selected = state.tail = state.relation = null;
    paint();
    showSelection([base + a[0], base + b[1]]);
  }
  function resumeCaret() {
    caret = null;
    if (resume === null || !textEl()) return;
    var at = resume - Number(textEl().dataset.start), list = tokens();
    resume = null;
    textEl().focus({ preventScroll: true });
    var i = list.findIndex(function (t) { return t[0] >= at; });
    if (i >= 0) { caret = { anchor: i, focus: i }; showCaret(list); }
  }

  document.addEventListener("keydown", function (event) {
    if (!root()) return;
    var tag = event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    var key = event.key;
    if (key === "?") { event.preventDefault(); return toggleHelp(); }
    if (document.getElementById("help").open) return;
    if ((event.ctrlKey || event.metaKey) && (key.toLowerCase() === "y" || (event.shiftKey && key.toLowerCase() === "z"))) {
      event.preventDefault(); return redo();
    }
    if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === "z") { event.preventDefault(); return undo(); }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (key === "Escape") { confirmDone(false); caret = null; window.getSelection().removeAllRanges(); return reset(); }
    if (key === "Enter" || key === " ") {
      if (interactive(event.target)) return;
      if (key === " ") return;
      event.preventDefault();
      return confirming() ? setStatus("done", true) : requestDone();
    }
    if (key === "Delete" || key === "Backspace") { event.preventDefault(); return deleteSelected(); }
    if (key === "ArrowRight" || key === "ArrowLeft") {
      var step = key === "ArrowRight" ? 1 : -1;
      event.preventDefault();
      if (inText() || (event.shiftKey && selectionInText())) return moveCaret(step, event.shiftKey);
      if (event.shiftKey) return;
      return go(step > 0 ? "next" : "previous");
    }
    if (key.length !== 1) return;
    if (state.selected && state.tail) {
      var rel = relationTypeByKey(key);
      if (rel) { event.preventDefault(); return applyRelationType(rel.dataset.relationTypeId); }
    }
    var type = entityTypeByKey(key);
    if (type) {
      event.preventDefault();
      if (caret && inText() && selectedSpan()) resume = selectedSpan()[1];
      return applyEntityType(type.dataset.typeId);
    }
    var nav = { j: "next", k: "previous", s: "skip" }[key];
    if (nav) { event.preventDefault(); go(nav); }
  });

  // the toolbar and the side panel stick below the top bar, whatever its height
  function stickyOffsets() {
    var bar = document.querySelector(".topbar"), toolbar = document.querySelector(".ann-toolbar");
    var style = document.documentElement.style;
    if (bar) style.setProperty("--topbar-h", bar.offsetHeight + "px");
    if (toolbar) style.setProperty("--toolbar-h", toolbar.offsetHeight + "px");
  }

  // --- relation arcs (SVG over the text, brat-like) ------------------------------------
  var SVG = "http://www.w3.org/2000/svg";

  function draw() {
    var r = root();
    if (!r) return;
    var svg = r.querySelector("svg.arcs"), wrap = r.querySelector(".ann-text-wrap");
    svg.querySelectorAll("g").forEach(function (g) { g.remove(); });
    var box = wrap.getBoundingClientRect();
    svg.setAttribute("width", box.width);
    svg.setAttribute("height", box.height);
    r.querySelectorAll("#relation-list li[data-relation-id]").forEach(function (li, i) {
      var head = r.querySelector('.ann-text .chip[data-entity-id="' + li.dataset.head + '"]:not(.cont)');
      var tail = r.querySelector('.ann-text .chip[data-entity-id="' + li.dataset.tail + '"]:not(.cont)');
      if (head && tail) arc(svg, box, head, tail, li, i);
    });
    r.querySelectorAll("#entity-list li.discontinuous").forEach(function (li) {
      var chips = r.querySelectorAll('.ann-text .chip[data-entity-id="' + li.dataset.entityId + '"]');
      for (var k = 1; k < chips.length; k++) link(svg, box, chips[k - 1], chips[k]);
    });
  }

  function anchor(el, box) {
    var rect = el.getBoundingClientRect();
    return { x: rect.left - box.left + rect.width / 2, y: rect.top - box.top };
  }

  function arc(svg, box, headEl, tailEl, li, i) {
    var a = anchor(headEl, box), b = anchor(tailEl, box);
    var lift = 14 + Math.min(Math.abs(a.x - b.x) / 14, 14) + (i % 3) * 4;
    var top = Math.min(a.y, b.y) - lift;
    var g = document.createElementNS(SVG, "g");
    g.setAttribute("class", "arc");
    g.dataset.relationId = li.dataset.relationId;
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("d", "M" + a.x + "," + a.y + " C" + a.x + "," + top + " " + b.x + "," + top + " " + b.x + "," + (b.y - 1));
    path.setAttribute("marker-end", "url(#arrow)");
    g.appendChild(path);
    var text = document.createElementNS(SVG, "text");
    text.setAttribute("x", (a.x + b.x) / 2);
    text.setAttribute("y", (a.y + b.y) / 8 + 0.75 * top + 3);
    text.setAttribute("text-anchor", "middle");
    text.textContent = li.dataset.type;
    g.appendChild(text);
    svg.appendChild(g);
    var bb = text.getBBox();
    var bg = document.createElementNS(SVG, "rect");
    bg.setAttribute("x", bb.x - 3); bg.setAttribute("y", bb.y - 1);
    bg.setAttribute("width", bb.width + 6); bg.setAttribute("height", bb.height + 2);
    bg.setAttribute("rx", 3);
    g.insertBefore(bg, text);
    if (state.relation === li.dataset.relationId) g.classList.add("is-selected");
  }

  function link(svg, box, fromEl, toEl) {
    var a = anchor(fromEl, box), b = anchor(toEl, box);
    var g = document.createElementNS(SVG, "g");
    g.setAttribute("class", "fragment-link");
    var path = document.createElementNS(SVG, "path");
    var top = Math.min(a.y, b.y) - 8;
    path.setAttribute("d", "M" + a.x + "," + a.y + " C" + a.x + "," + top + " " + b.x + "," + top + " " + b.x + "," + b.y);
    g.appendChild(path);
    svg.appendChild(g);
  }

  window.addEventListener("resize", function () { draw(); stickyOffsets(); });
  document.addEventListener("eligo:theme", draw);
  document.addEventListener("DOMContentLoaded", function () { draw(); hint(); syncUndo(); stickyOffsets(); });
  if (document.readyState !== "loading") { draw(); hint(); syncUndo(); stickyOffsets(); }
})();
