// The heat-map overlay on the scan page: a checkbox shows or hides it, a slider sets its opacity.
(function () {
  const layer = document.getElementById("heat-layer");
  const toggle = document.getElementById("heat-toggle");
  const opacity = document.getElementById("heat-opacity");
  if (!layer || !toggle || !opacity) return;
  function apply() {
    layer.hidden = !toggle.checked;
    layer.style.opacity = String(opacity.value / 100);
    opacity.disabled = !toggle.checked;
    opacity.setAttribute("aria-valuetext", opacity.value + "%");
  }
  toggle.addEventListener("change", apply);
  opacity.addEventListener("input", apply);
  apply();
})();
