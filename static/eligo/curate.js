// Eligo curation view: buttons and keys post one action with the criterion's version; the
// server answers with the re-rendered #curation (200 applied, 422 refused, 409 conflict).
(function () {
  "use strict";

  var focused = 0;

  function root() { return document.getElementById("curation"); }
  function rows() { return Array.prototype.slice.call(root().querySelectorAll("[data-row]")); }
  function csrf() {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  }

  function act(action, extra) {
    var values = Object.assign({ action: action, version: root().dataset.version }, extra || {});
    htmx.ajax("POST", root().dataset.actionUrl, {
      target: "#curation", swap: "outerHTML", values: values, headers: { "X-CSRFToken": csrf() },
    });
  }

  function focus(index) {
    var all = rows();
    all.forEach(function (row) { row.classList.remove("focused"); });
    if (!all.length) return;
    focused = Math.max(0, Math.min(index, all.length - 1));
    all[focused].classList.add("focused");
    all[focused].focus();
  }

  function onRow(row) {
    if (!row) return;
    if (row.dataset.annotator) {
      act("take-entity", { annotator: row.dataset.annotator, target: row.dataset.target });
    }
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 409 || status === 422) { event.detail.shouldSwap = true; event.detail.isError = false; }
  });
  document.addEventListener("htmx:afterSwap", function () { if (root()) focus(focused); });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-curate]");
    if (!button || !root() || !root().contains(button)) return;
    act(button.dataset.curate, { annotator: button.dataset.annotator || "",
                                 target: button.dataset.target || "" });
  });

  document.addEventListener("keydown", function (event) {
    if (!root() || event.ctrlKey || event.metaKey || event.altKey) return;
    if (/^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName)) return;
    var key = event.key, row = rows()[focused];
    if (key === "j") focus(focused + 1);
    else if (key === "k") focus(focused - 1);
    else if (key === "t") onRow(row);
    else if (key === "x" && row && !row.dataset.annotator) act("drop-entity", { target: row.dataset.target });
    else if (key === "a") act("merge-agreed");
    else if (key === "c") act("finish");
    else if (key === "C") act("finish", { advance: "1" });
    else if (key === "e") window.location = root().dataset.editUrl;
    else if (key === "n") window.location = root().dataset.nextUrl;
    else if (/^[1-9]$/.test(key)) {
      var column = root().querySelectorAll("[data-curate='take-all']")[Number(key) - 1];
      if (column) act("take-all", { annotator: column.dataset.annotator });
    } else return;
    event.preventDefault();
  });

  if (root()) focus(0);
})();
