// Dark mode: follows the system unless the user picked a theme with the toggle.
(function () {
  var KEY = "eligo-theme";
  var saved = localStorage.getItem(KEY);
  if (saved) document.documentElement.dataset.theme = saved;
  function current() {
    var forced = document.documentElement.dataset.theme;
    if (forced) return forced;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  document.addEventListener("click", function (event) {
    if (!event.target.closest("#theme-toggle")) return;
    var next = current() === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    localStorage.setItem(KEY, next);
    document.dispatchEvent(new CustomEvent("eligo:theme"));
  });
})();
