// Draws every element with class "chart" from its data-series (uPlot columns), with the
// high and low watermarks as dashed lines. Our own code; uPlot is vendored under vendor/.
(function () {
  "use strict";

  function watermark(value, color) {
    return {
      label: value + " %",
      stroke: color,
      dash: [6, 4],
      width: 1,
      points: { show: false },
    };
  }

  function draw(element) {
    var series = JSON.parse(element.dataset.series);
    var high = Number(element.dataset.high);
    var low = Number(element.dataset.low);
    var n = series.t.length;
    var data = [
      series.t,
      series.before,
      series.after,
      series.t.map(function () { return high; }),
      series.t.map(function () { return low; }),
    ];
    var options = {
      width: Math.min(element.clientWidth || 900, 1000) - 16,
      height: 300,
      scales: { y: { range: [0, Math.max(110, Math.max.apply(null, series.before.concat(series.after).filter(Number.isFinite)) + 5)] } },
      axes: [{}, { values: function (u, ticks) { return ticks.map(function (v) { return v + " %"; }); } }],
      series: [
        {},
        { label: "before", stroke: "#cf222e", width: 2, spanGaps: false },
        { label: "after", stroke: "#1f6feb", width: 2, spanGaps: false },
        watermark(high, "#9a6700"),
        watermark(low, "#1a7f37"),
      ],
    };
    element.dataset.points = String(n);
    new uPlot(options, data, element);
    element.classList.add("drawn");
  }

  function drawAll() {
    document.querySelectorAll(".chart:not(.drawn)").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", drawAll);
  document.addEventListener("htmx:afterSettle", drawAll);
})();
