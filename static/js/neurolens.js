// Theme switch (remembered), the result brought into view, the browser's time zone for the
// server, and the drop zone.
(function () {
  const root = document.documentElement;
  const toggle = document.getElementById("theme-toggle");
  function show() {
    const dark = root.dataset.bsTheme !== "light";
    if (toggle) {
      toggle.textContent = dark ? "Light theme" : "Dark theme";
      toggle.setAttribute("aria-pressed", String(!dark));
    }
  }
  if (toggle) {
    toggle.addEventListener("click", function () {
      root.dataset.bsTheme = root.dataset.bsTheme === "light" ? "dark" : "light";
      try { localStorage.setItem("neurolens-theme", root.dataset.bsTheme); } catch (e) { /* private mode */ }
      show();
    });
  }
  show();
  document.addEventListener("neurolens:theme", show);  // the system's theme changed (theme.js)

  // After "Analyse" the result is swapped in below the form: bring it into view (on a phone it
  // lands below the fold). The pane is an aria-live region, so screen readers announce it.
  document.addEventListener("htmx:afterSwap", function (e) {
    const target = e.detail.target;
    if (!target || target.id !== "result" || !target.firstElementChild) return;
    const reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    target.scrollIntoView({behavior: reduce ? "auto" : "smooth", block: "start"});
  });

  // A table wider than the screen scrolls inside its box: let keyboard users reach and scroll it.
  function scrollable(root) {
    root.querySelectorAll(".table-responsive").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth && !box.hasAttribute("tabindex")) {
        box.setAttribute("tabindex", "0");
        box.setAttribute("role", "region");
        const caption = box.querySelector("caption");
        box.setAttribute("aria-label", (caption ? caption.textContent.trim() + " " : "") + "(scrolls sideways)");
      }
    });
  }
  scrollable(document);
  window.addEventListener("resize", function () { scrollable(document); });
  document.addEventListener("htmx:afterSettle", function (e) { scrollable(e.detail.target); });

  try {
    const tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz) document.cookie = "tz=" + tz + ";path=/;max-age=31536000;SameSite=Lax";
  } catch (e) { /* old browser: times stay in the server's zone */ }

  function bindDropzone(zone) {
    const input = zone.querySelector("input[type=file]");
    const name = zone.querySelector("[data-file-name]");
    const showName = function () { if (name) name.textContent = input.files.length > 1 ? input.files.length + " files" : input.files.length ? input.files[0].name : ""; };
    input.addEventListener("change", showName);
    ["dragenter", "dragover"].forEach(function (ev) {
      zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.add("dragover"); });
    });
    ["dragleave", "drop"].forEach(function (ev) {
      zone.addEventListener(ev, function () { zone.classList.remove("dragover"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (!e.dataTransfer.files.length) return;
      if (input.multiple) {  // a drop adds to what was chosen or dropped before
        const all = new DataTransfer();
        Array.from(input.files).concat(Array.from(e.dataTransfer.files)).forEach(function (f) { all.items.add(f); });
        input.files = all.files;
      } else {
        input.files = e.dataTransfer.files;
      }
      showName();
    });
  }
  document.querySelectorAll("[data-dropzone]").forEach(bindDropzone);
})();
