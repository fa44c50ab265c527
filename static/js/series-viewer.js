// The series page's slice viewer: arrow keys, the mouse wheel or the slider move through the
// slices; window centre/width re-render the slice from its stored 16-bit values on the server.
(function () {
  const rows = JSON.parse(document.getElementById("slice-rows").textContent);
  const urls = JSON.parse(document.getElementById("slice-urls").textContent);
  if (!rows.length) return;
  const img = document.getElementById("slice-img"), heat = document.getElementById("heat-img");
  const range = document.getElementById("slice-range"), pos = document.getElementById("slice-pos");
  const result = document.getElementById("slice-result"), viewer = document.getElementById("viewer");
  const wc = document.getElementById("wc"), ww = document.getElementById("ww");
  const heatToggle = document.getElementById("heat-toggle"), scanLink = document.getElementById("slice-scan");
  let index = 0, custom = null;

  function url(template, id) { return template.replace(/0(\.png)?$/, id + "$1").replace(/\/0\//, "/" + id + "/"); }

  function show(i) {
    index = Math.max(0, Math.min(rows.length - 1, i));
    const r = rows[index];
    const c = custom ? custom.c : r.c, w = custom ? custom.w : r.w;
    wc.value = Math.round(c * 10) / 10; ww.value = Math.round(w * 10) / 10;
    img.src = url(urls.slice, r.id) + "?c=" + encodeURIComponent(c) + "&w=" + encodeURIComponent(w);
    range.value = index + 1;
    pos.textContent = "Slice " + (index + 1) + " of " + rows.length;
    result.textContent = r.label + (r.confidence !== null ? " (" + r.confidence + ")" : "") +
      (r.key ? ", key image" : "");
    scanLink.hidden = !r.scan;
    if (r.scan) scanLink.href = url(urls.scan, r.scan);
    if (heatToggle.checked && r.scan && !r.out_of_scope) { heat.src = url(urls.heat, r.scan); heat.style.display = ""; }
    else { heat.style.display = "none"; }
  }

  viewer.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown" || e.key === "ArrowRight") { show(index + 1); e.preventDefault(); }
    if (e.key === "ArrowUp" || e.key === "ArrowLeft") { show(index - 1); e.preventDefault(); }
  });
  viewer.addEventListener("wheel", function (e) { show(index + (e.deltaY > 0 ? 1 : -1)); e.preventDefault(); },
                          { passive: false });
  range.addEventListener("input", function () { show(Number(range.value) - 1); });
  function window_changed() {
    const c = Number(wc.value), w = Number(ww.value);
    if (Number.isFinite(c) && Number.isFinite(w) && w >= 1) { custom = { c: c, w: w }; show(index); }
  }
  wc.addEventListener("change", window_changed); ww.addEventListener("change", window_changed);
  document.getElementById("wl-reset").addEventListener("click", function () { custom = null; show(index); });
  heatToggle.addEventListener("change", function () { show(index); });
  document.querySelectorAll("[data-slice]").forEach(function (a) {
    a.addEventListener("click", function (e) { e.preventDefault(); show(Number(a.dataset.slice) - 1); viewer.focus(); });
  });
  show(0);
})();
