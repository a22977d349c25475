(function () {
  "use strict";
  var STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function colour(t) {
    t = Math.max(0, Math.min(1, t));
    var x = t * (STOPS.length - 1), i = Math.min(Math.floor(x), STOPS.length - 2), f = x - i;
    var a = STOPS[i], b = STOPS[i + 1], c = [0, 1, 2].map(function (j) { return Math.round(a[j] + (b[j] - a[j]) * f); });
    return "rgb(" + c.join(",") + ")";
  }
  var drawn = 0;
  function draw(cv) {
    if (cv.dataset.drawn) return;
    var d = cv.dataset, k = +d.rois, n = +d.bins, pw = +d.pw, cw = +d.cw, ch = +d.ch, lo = +d.lo, hi = +d.hi;
    var v = d.v.split(","), g = cv.getContext("2d"), span = hi - lo || 1;
    for (var r = 0; r < k; r++) for (var c = 0; c < n; c++) {
      var s = v[r * n + c], x = +s;
      g.fillStyle = s === "n" ? "#ff2d55" : x === 0 ? "#eef0f2" : colour(hi === lo ? 1 : (Math.log10(x) - lo) / span);
      g.fillRect(c * cw, r * ch, cw, ch);
    }
    g.fillStyle = "rgba(255,255,255,0.8)";
    if (cw > 2) for (var b = pw; b < n; b += pw) g.fillRect(b * cw, 0, 1, k * ch);
    var out = cv.parentNode.querySelector(".readout");
    cv.addEventListener("mousemove", function (ev) {
      var rect = cv.getBoundingClientRect();
      var col = Math.floor((ev.clientX - rect.left) * cv.width / rect.width / cw);
      var row = Math.floor((ev.clientY - rect.top) * cv.height / rect.height / ch);
      if (row < 0 || row >= k || col < 0 || col >= n) return;
      var s = v[row * n + col];
      out.textContent = "roi " + row + ", bin (" + Math.floor(col / pw) + ", " + (col % pw) + "): max |diff| = " +
        (s === "n" ? "NaN/Inf where the other side has a number" : s);
    });
    d.drawn = "1";
    drawn++;
    document.body.dataset.heatmapsDrawn = String(drawn);
  }
  function openPanel(id) {
    var el = document.getElementById(id);
    if (el && el.tagName === "DETAILS") { el.open = true; el.querySelectorAll("canvas.heatmap").forEach(draw); }
  }
  document.querySelectorAll("details.panel").forEach(function (p) {
    p.addEventListener("toggle", function () { if (p.open) p.querySelectorAll("canvas.heatmap").forEach(draw); });
  });
  document.querySelectorAll("details.panel[open] canvas.heatmap").forEach(draw);

  var table = document.getElementById("cmp"), body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows), texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var q = document.getElementById("q"), shown = document.getElementById("shown");
  var boxes = Array.prototype.slice.call(document.querySelectorAll("input.vf"));
  function apply() {
    var on = {}, needle = q.value.trim().toLowerCase(), count = 0;
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    rows.forEach(function (r, i) {
      var ok = on[r.dataset.verdict] !== false && (!needle || texts[i].indexOf(needle) >= 0);
      r.hidden = !ok;
      if (ok) count++;
    });
    shown.textContent = count + " of " + rows.length + " comparisons shown";
  }
  q.addEventListener("input", apply);
  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  table.tHead.addEventListener("click", function (ev) {
    var th = ev.target.closest("th[data-col]");
    if (!th) return;
    var col = +th.dataset.col, num = !!th.dataset.num, dir = th.dataset.dir === "asc" ? -1 : 1;
    th.dataset.dir = dir === 1 ? "asc" : "desc";
    var keyed = rows.map(function (r, i) {
      var cell = r.cells[col], k = num ? parseFloat(cell.dataset.n) : cell.textContent;
      if (num && isNaN(k)) k = cell.dataset.n === "" ? -Infinity : Infinity;
      return [k, i, r];
    });
    keyed.sort(function (a, b) { return a[0] < b[0] ? -dir : a[0] > b[0] ? dir : a[1] - b[1]; });
    keyed.forEach(function (e) { body.appendChild(e[2]); });
  });
  document.addEventListener("click", function (ev) {
    var a = ev.target.closest("a[href^='#d-']");
    if (a) openPanel(a.getAttribute("href").slice(1));
    var btn = ev.target.closest("button.copy");
    if (!btn) return;
    var code = btn.parentNode.querySelector("code"), text = code.textContent;
    function done(ok) { btn.textContent = ok ? "copied" : "select and copy"; setTimeout(function () { btn.textContent = "copy"; }, 1500); }
    function fallback() {
      var range = document.createRange(), sel = window.getSelection();
      range.selectNodeContents(code); sel.removeAllRanges(); sel.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    else fallback();
  });
  if (location.hash.indexOf("#d-") === 0) openPanel(location.hash.slice(1));
  apply();
  document.body.dataset.parityReady = "1";
})();
