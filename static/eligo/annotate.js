// Eligo annotation view: selection, keyboard shortcuts, relation arcs.
// Every action is one htmx POST carrying the sentence version; the server answers
// with the re-rendered #sentence fragment (200 applied, 422 refused, 409 conflict).
(function () {
  "use strict";

  var state = { selected: null, tail: null, relation: null, suggestion: null };
  var resumeSuggestion = null;  // after a decision: the list position to select next
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
    if (event.target && event.target.id === "sentence") { reset(); draw(); syncUndo(); resumeCaret(); resumeSuggestions(); }
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

  function reset() { state.selected = state.tail = state.relation = state.suggestion = null; paint(); }

  function paint() {
    var r = root();
    if (!r) return;
    r.querySelectorAll(".is-selected, .is-tail, .is-current").forEach(function (el) {
      el.classList.remove("is-selected", "is-tail", "is-current");
    });
    if (state.suggestion) {
      r.querySelectorAll('[data-suggestion="' + state.suggestion + '"], .seg[data-suggs~="' + state.suggestion + '"]')
        .forEach(function (el) { el.classList.add("is-current"); });
    }
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
    } else if (state.suggestion) {
      var item = suggestionItems().find(function (li) { return li.dataset.suggestion === state.suggestion; });
      el.textContent = "Suggestion " + (item ? item.textContent.replace(/[✓✗]/g, "").replace(/\s+/g, " ").trim() : "") +
        (canDecide() ? ": = accepts, - rejects, ] / [ move, * accepts all shown" : " (reviewers and managers decide)");
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

  // --- model suggestions: drawn dashed, decided by reviewers and managers ---------------
  function canDecide() { return !!(root() && root().dataset.canDecide); }
  function suggestionItems() { return Array.prototype.slice.call(document.querySelectorAll("#model-suggestions li[data-suggestion]")); }
  function selectSuggestion(key) {
    window.getSelection().removeAllRanges();
    state.selected = state.tail = state.relation = null;
    state.suggestion = key;
    paint();
  }
  function moveSuggestion(step) {
    var items = suggestionItems();
    if (!items.length) return;
    var at = items.findIndex(function (li) { return li.dataset.suggestion === state.suggestion; });
    var next = at < 0 ? (step > 0 ? 0 : items.length - 1) : (at + step + items.length) % items.length;
    selectSuggestion(items[next].dataset.suggestion);
  }
  function decide(key, accept) {
    if (!key || !canDecide()) return;
    var at = suggestionItems().findIndex(function (li) { return li.dataset.suggestion === key; });
    var parts = key.split("-");
    resumeSuggestion = Math.max(at, 0);
    act(accept ? "suggestion-accept" : "suggestion-reject", { kind: parts[0], suggestion: parts[1] });
  }
  function acceptShown() { if (canDecide() && suggestionItems().length) act("suggestions-accept-shown", {}); }
  function resumeSuggestions() {
    if (resumeSuggestion === null) return;
    var items = suggestionItems(), at = Math.min(resumeSuggestion, items.length - 1);
    resumeSuggestion = null;
    if (at >= 0) selectSuggestion(items[at].dataset.suggestion);
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
    var suggestion = target.closest("[data-suggestion]");
    if (suggestion) return selectSuggestion(suggestion.dataset.suggestion);
    var relation = target.closest("[data-relation-id]");
    if (relation) { state.selected = state.tail = null; state.relation = relation.dataset.relationId; return paint(); }
    if (!window.getSelection().isCollapsed) return;
    var chip = target.closest("[data-entity-id]");
    if (chip) return clickEntity(chip.dataset.entityId);
    var seg = target.closest(".seg.ent");
    if (seg) return clickEntity(seg.dataset.ents.split(" ")[0]);
    var suggested = target.closest(".seg.sugg");
    if (suggested) return selectSuggestion(suggested.dataset.suggs.split(" ")[0]);
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
    else if (what === "suggestion-accept" || what === "suggestion-reject") decide(button.closest("[data-suggestion]").dataset.suggestion, what === "suggestion-accept");
    else if (what === "suggestions-accept-shown") acceptShown();
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
    var suggestionKey = canDecide() && { "]": "next", "[": "previous", "=": "accept", "+": "accept", "-": "reject", "*": "all" }[key];
    if (suggestionKey && (suggestionKey === "next" || suggestionKey === "previous" || suggestionKey === "all" || state.suggestion)) {
      event.preventDefault();
      if (suggestionKey === "next" || suggestionKey === "previous") return moveSuggestion(suggestionKey === "next" ? 1 : -1);
      if (suggestionKey === "all") return acceptShown();
      return decide(state.suggestion, suggestionKey === "accept");
    }
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

  // --- relation arcs: laid out per visual line (brat-like), see docs/annotation-view.md ---
  // Every arc starts and ends on the top edge of a type label. Arcs whose ends share a line
  // are stacked in levels above it, shortest lowest, so that no two arcs (label included)
  // at one level overlap; an arc between two lines is two pieces, each running from its end
  // to the side of the text. Each line gets exactly the room its levels need.
  var SVG = "http://www.w3.org/2000/svg";
  var LEVEL = 18, GAP = 3, SIDE = 3, LABEL_PAD = 4, LABEL_H = 15;
  var drawnWidth = null;

  function draw() {
    var r = root();
    if (!r) return;
    var svg = r.querySelector("svg.arcs"), wrap = r.querySelector(".ann-text-wrap"), text = textEl();
    svg.querySelectorAll("g").forEach(function (g) { g.remove(); });
    var links = arcLinks(r), lines = visualLines(text), before = wrap.getBoundingClientRect();
    var ends = arcEnds(links, lines);
    spreadEnds(ends, before.left);
    var pieces = arcPieces(links, before.width, labelWidths(svg, links));
    var levels = assignLevels(pieces, lines.length);
    reserveSpace(ends, levels, lines, wrap);
    var box = wrap.getBoundingClientRect();
    svg.setAttribute("width", box.width);
    svg.setAttribute("height", box.height);
    var bases = lineBases(visualLines(text), ends, box);
    links.forEach(function (link) { renderLink(svg, link, bases); });
    drawnWidth = box.width;
  }

  // Relations whose ends are both in this criterion, and the dashed links between the
  // fragments of a discontinuous entity.
  function arcLinks(r) {
    var links = [];
    function chip(id) { return r.querySelector('.ann-text .chip[data-entity-id="' + id + '"]:not(.cont)'); }
    r.querySelectorAll("#relation-list li[data-relation-id]").forEach(function (li) {
      var head = chip(li.dataset.head), tail = chip(li.dataset.tail);
      if (head && tail) links.push({ id: li.dataset.relationId, label: li.dataset.type, head: head, tail: tail });
    });
    // suggested relations: their ends are suggestion chips ("s<id>") or entities ("e<id>")
    function end(ref) {
      return ref[0] === "s" ? r.querySelector('.ann-text .chip[data-suggestion="entity-' + ref.slice(1) + '"]') : chip(ref.slice(1));
    }
    r.querySelectorAll('#model-suggestions li[data-suggestion^="relation-"]').forEach(function (li) {
      var head = end(li.dataset.headRef), tail = end(li.dataset.tailRef);
      if (head && tail) links.push({ id: null, suggestion: li.dataset.suggestion, label: li.dataset.type, head: head, tail: tail,
        title: "Suggested " + li.dataset.type + " · confidence " + li.dataset.confidence });
    });
    r.querySelectorAll("#entity-list li.discontinuous").forEach(function (li) {
      var chips = r.querySelectorAll('.ann-text .chip[data-entity-id="' + li.dataset.entityId + '"]');
      for (var k = 1; k < chips.length; k++) links.push({ id: null, label: "", head: chips[k - 1], tail: chips[k] });
    });
    return links;
  }

  // The visual lines of the text, top to bottom: [{top, bottom}] from the glyph boxes.
  function visualLines(text) {
    var rects = [];
    text.querySelectorAll(".seg").forEach(function (seg) {
      seg.childNodes.forEach(function (node) {
        if (node.nodeType !== 3) return;
        var range = document.createRange();
        range.selectNodeContents(node);
        Array.prototype.forEach.call(range.getClientRects(), function (rect) {
          if (rect.width > 0 && rect.height > 0) rects.push(rect);
        });
      });
    });
    rects.sort(function (a, b) { return a.top - b.top; });
    var lines = [];
    rects.forEach(function (rect) {
      var line = lines[lines.length - 1], middle = (rect.top + rect.bottom) / 2;
      if (line && middle > line.top && middle < line.bottom) {
        line.top = Math.min(line.top, rect.top);
        line.bottom = Math.max(line.bottom, rect.bottom);
      } else {
        lines.push({ top: rect.top, bottom: rect.bottom });
      }
    });
    return lines;
  }

  function lineOf(lines, rect) {
    var middle = (rect.top + rect.bottom) / 2, best = 0, distance = Infinity;
    lines.forEach(function (line, i) {
      var d = middle < line.top ? line.top - middle : middle > line.bottom ? middle - line.bottom : 0;
      if (d < distance) { distance = d; best = i; }
    });
    return best;
  }

  // One end per arc end, grouped by type label: {chip: {line, rect, list: [end]}}.
  function arcEnds(links, lines) {
    var byChip = new Map();
    function chipEnd(chip) {
      if (!byChip.has(chip)) {
        var rect = chip.getBoundingClientRect();
        byChip.set(chip, { chip: chip, rect: rect, line: lineOf(lines, rect), list: [] });
      }
      return byChip.get(chip);
    }
    links.forEach(function (link) {
      var head = chipEnd(link.head), tail = chipEnd(link.tail);
      link.ends = [end(head, tail), end(tail, head)];
    });
    function end(self, other) {
      var toward = self.line === other.line ? centre(other.rect)
        : self.line < other.line ? Infinity : -Infinity;
      var item = { at: self, toward: toward, x: 0 };
      self.list.push(item);
      return item;
    }
    return byChip;
  }

  function centre(rect) { return (rect.left + rect.right) / 2; }

  // Spread the ends on one type label over its width: arcs going left on the left, the
  // farthest outermost, so that arcs leaving one label do not cross each other.
  function spreadEnds(ends, left) {
    ends.forEach(function (group) {
      var self = centre(group.rect);
      group.list.sort(function (a, b) {
        var da = a.toward < self ? 0 : 1, db = b.toward < self ? 0 : 1;
        if (da !== db) return da - db;
        return da === 0 ? a.toward - b.toward : b.toward - a.toward;
      });
      var n = group.list.length, inner = Math.max(group.rect.width - 6, 0);
      group.list.forEach(function (item, k) {
        item.x = group.rect.left - left + 3 + (n === 1 ? inner / 2 : inner * k / (n - 1));
      });
    });
  }

  function labelWidths(svg, links) {
    var widths = {};
    links.forEach(function (link) {
      if (!link.label || link.label in widths) return;
      var probe = document.createElementNS(SVG, "text");
      probe.setAttribute("class", "arc-label");
      probe.textContent = link.label;
      var g = document.createElementNS(SVG, "g");
      g.setAttribute("class", "arc");
      g.appendChild(probe);
      svg.appendChild(g);
      widths[link.label] = probe.getComputedTextLength() + 2 * LABEL_PAD;
      g.remove();
    });
    return widths;
  }

  // The horizontal runs of every link, each on one line; a link between two lines gets a
  // run on each, from its end to the side of the text facing the other end.
  function arcPieces(links, width, widths) {
    var pieces = [];
    links.forEach(function (link) {
      var head = link.ends[0], tail = link.ends[1], w = link.label ? widths[link.label] : 0;
      if (head.at.line === tail.at.line) {
        link.pieces = [piece(head.at.line, head.x, tail.x, w, width)];
      } else {
        var headEdge = head.at.line < tail.at.line ? width - SIDE : SIDE;
        link.pieces = [piece(head.at.line, head.x, headEdge, w, width),
          piece(tail.at.line, width - headEdge, tail.x, w, width)];
      }
      pieces.push.apply(pieces, link.pieces);
    });
    return pieces;
  }

  function piece(line, from, to, labelWidth, width) {
    var lo = Math.min(from, to), hi = Math.max(from, to);
    var half = labelWidth / 2, middle = Math.min(Math.max((lo + hi) / 2, half + 1), width - half - 1);
    return {
      line: line, from: from, to: to, labelWidth: labelWidth, labelX: middle, level: 0,
      lo: Math.min(lo, middle - half) - 2, hi: Math.max(hi, middle + half) + 2,
    };
  }

  // Greedy, shortest first: each run takes the lowest level of its line where it overlaps
  // no run (label included) already there. Returns the number of levels of each line.
  function assignLevels(pieces, lineCount) {
    var taken = [], counts = [];
    for (var i = 0; i < lineCount; i++) { taken.push([]); counts.push(0); }
    pieces.slice().sort(function (a, b) { return (a.hi - a.lo) - (b.hi - b.lo); }).forEach(function (p) {
      var levels = taken[p.line], level = 0;
      while ((levels[level] || []).some(function (q) { return q.lo < p.hi && p.lo < q.hi; })) level++;
      (levels[level] = levels[level] || []).push(p);
      p.level = level;
      counts[p.line] = Math.max(counts[p.line], level + 1);
    });
    return counts;
  }

  // Room above each line for its levels: the first type label of a text segment carries a
  // zero-width spacer (CSS ::before) rising from the label's bottom by --arc-space; it only
  // grows the line box where the line's own leading is too small. (Only the first: a spacer
  // between two labels of one word would let the line break there.) The depth of the underlines of the
  // line above is added so that no label lands on them.
  function reserveSpace(ends, counts, lines, wrap) {
    var depth = (Number(getComputedStyle(wrap).getPropertyValue("--layers")) || 0) * 5;
    wrap.querySelectorAll(".ann-text .chip").forEach(function (chip) { chip.style.removeProperty("--arc-space"); });
    ends.forEach(function (group) {
      var levels = counts[group.line];
      if (!levels) return;
      var above = Math.max(0, group.rect.top - lines[group.line].top);
      var space = group.rect.height + above + depth + GAP + levels * LEVEL + 2;
      group.chip.parentNode.querySelector(".chip").style.setProperty("--arc-space", space + "px");
    });
  }

  // After the room is made: the y (in the SVG) of the top of each line's type labels and text.
  function lineBases(lines, ends, box) {
    var bases = lines.map(function (line) { return line.top - box.top; });
    ends.forEach(function (group) {
      group.rect = group.chip.getBoundingClientRect();
      group.top = group.rect.top - box.top;
      bases[group.line] = Math.min(bases[group.line] === undefined ? Infinity : bases[group.line], group.top);
    });
    return bases;
  }

  function levelY(p, bases) { return bases[p.line] - GAP - LABEL_H / 2 - p.level * LEVEL; }

  function renderLink(svg, link, bases) {
    var g = document.createElementNS(SVG, "g"), arc = link.id || link.suggestion;
    g.setAttribute("class", link.suggestion ? "arc suggested" : link.id ? "arc" : "fragment-link");
    if (link.id) g.dataset.relationId = link.id;
    if (link.suggestion) {
      g.dataset.suggestion = link.suggestion;
      var title = document.createElementNS(SVG, "title");
      title.textContent = link.title;
      g.appendChild(title);
    }
    var path = document.createElementNS(SVG, "path"), head = link.ends[0], tail = link.ends[1];
    var d;
    if (link.pieces.length === 1) {
      d = run(head.x, head.at.top, tail.x, tail.at.top - 1, levelY(link.pieces[0], bases));
    } else {
      var one = link.pieces[0], two = link.pieces[1];
      d = run(head.x, head.at.top, one.to, null, levelY(one, bases)) +
        " " + run(two.from, null, tail.x, tail.at.top - 1, levelY(two, bases));
    }
    path.setAttribute("d", d);
    if (arc) path.setAttribute("marker-end", "url(#arrow)");
    g.appendChild(path);
    svg.appendChild(g);
    if (arc) link.pieces.forEach(function (p) { drawLabel(g, link.label, p, levelY(p, bases)); });
    if (link.id && state.relation === link.id) g.classList.add("is-selected");
    if (link.suggestion && state.suggestion === link.suggestion) g.classList.add("is-current");
  }

  // A path up from (x1, y1) to height y, across, and down to (x2, y2); a null y leaves
  // that side open (the run of an arc that goes on on another line starts or ends there).
  function run(x1, y1, x2, y2, y) {
    var dir = x2 >= x1 ? 1 : -1, bend = Math.min(4, Math.abs(x2 - x1) / 2);
    var d = y1 === null ? "M" + x1 + "," + y : "M" + x1 + "," + y1 + " L" + x1 + "," + (y + bend) +
      " Q" + x1 + "," + y + " " + (x1 + dir * bend) + "," + y;
    return d + (y2 === null ? " L" + x2 + "," + y : " L" + (x2 - dir * bend) + "," + y +
      " Q" + x2 + "," + y + " " + x2 + "," + (y + bend) + " L" + x2 + "," + y2);
  }

  function drawLabel(g, name, p, y) {
    var bg = document.createElementNS(SVG, "rect");
    bg.setAttribute("x", p.labelX - p.labelWidth / 2);
    bg.setAttribute("y", y - LABEL_H / 2);
    bg.setAttribute("width", p.labelWidth);
    bg.setAttribute("height", LABEL_H);
    bg.setAttribute("rx", 3);
    g.appendChild(bg);
    var text = document.createElementNS(SVG, "text");
    text.setAttribute("class", "arc-label");
    text.setAttribute("x", p.labelX);
    text.setAttribute("y", y);
    text.textContent = name;
    g.appendChild(text);
  }

  // Redraw when the text's width changes (window, panels, a scrollbar appearing), not when
  // only its height does: the room made for the arcs changes the height.
  function redrawOnWidth() {
    var wrap = root() && root().querySelector(".ann-text-wrap");
    if (wrap && wrap.getBoundingClientRect().width !== drawnWidth) draw();
  }
  if (window.ResizeObserver) new ResizeObserver(redrawOnWidth).observe(document.documentElement);
  if (document.fonts) document.fonts.ready.then(draw);

  window.addEventListener("resize", function () { redrawOnWidth(); stickyOffsets(); });
  document.addEventListener("eligo:theme", draw);
  document.addEventListener("DOMContentLoaded", function () { draw(); hint(); syncUndo(); stickyOffsets(); });
  if (document.readyState !== "loading") { draw(); hint(); syncUndo(); stickyOffsets(); }
})();
