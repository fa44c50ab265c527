// Draws every <canvas data-chart="ID"> from the Chart.js configuration in <script id="ID">, and
// again whenever htmx swaps in new results (the old charts are destroyed first).
(function () {
  function themed() {
    const dark = document.documentElement.dataset.bsTheme !== "light";
    Chart.defaults.color = dark ? "#dee2e6" : "#212529";
    Chart.defaults.borderColor = dark ? "rgba(255,255,255,0.12)" : "rgba(0,0,0,0.12)";
  }

  function destroy(root) {
    if (!window.Chart) return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const chart = Chart.getChart(canvas);
      if (chart) chart.destroy();
    });
  }

  function draw(root) {
    if (!window.Chart) return;  // the script did not load: the tables still carry every figure
    themed();
    destroy(root);
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const source = document.getElementById(canvas.dataset.chart);
      if (source) new Chart(canvas, JSON.parse(source.textContent));
    });
  }

  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("neurolens:chart-ready", function () { draw(document); });  // chart-loader.js
  document.addEventListener("htmx:beforeSwap", function (e) { destroy(e.detail.target); });
  document.addEventListener("htmx:afterSettle", function (e) { draw(e.detail.target); });
  document.addEventListener("click", function (e) {
    if (e.target.id === "theme-toggle") draw(document);
  });
})();
