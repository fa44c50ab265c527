// Starts ReDoc on the schema named by the page (kept out of the page itself: no inline script).
(function () {
  const box = document.getElementById("redoc-container");
  Redoc.init(box.dataset.schemaUrl, {}, box);
})();
