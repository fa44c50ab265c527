// Runs before the style sheet: the theme the user chose, or else the operating system's
// (prefers-color-scheme), followed live until the user chooses one with the toggle.
(function () {
  const root = document.documentElement;
  const query = window.matchMedia ? window.matchMedia("(prefers-color-scheme: light)") : null;
  function chosen() {
    try { return localStorage.getItem("neurolens-theme"); } catch (e) { return null; }
  }
  function system() { return query && query.matches ? "light" : "dark"; }
  root.dataset.bsTheme = chosen() || system();
  if (query) {
    query.addEventListener("change", function () {
      if (chosen()) return;
      root.dataset.bsTheme = system();
      document.dispatchEvent(new CustomEvent("neurolens:theme"));
    });
  }
})();
