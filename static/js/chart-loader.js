// Chart.js from the CDN (CHARTJS_URL, checked against its integrity hash); when that address cannot
// be reached (no internet, a blocked CDN, a hash that does not match) the copy we serve ourselves
// is loaded instead. Either way "neurolens:chart-ready" tells analytics.js to draw.
(function () {
  const me = document.currentScript;
  function ready() { document.dispatchEvent(new CustomEvent("neurolens:chart-ready")); }
  function load(src, integrity, onError) {
    const script = document.createElement("script");
    script.src = src;
    if (integrity) { script.integrity = integrity; script.crossOrigin = "anonymous"; }
    script.onload = ready;
    script.onerror = onError;
    document.head.appendChild(script);
  }
  function local() {
    load(me.dataset.local, "", function () { document.dispatchEvent(new CustomEvent("neurolens:chart-failed")); });
  }
  if (me.dataset.cdn) load(me.dataset.cdn, me.dataset.integrity, local);
  else local();
})();
