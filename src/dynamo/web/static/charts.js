// Draws every element with class "chart" from its data-series (uPlot columns). Two kinds:
// occupancy (before/after each Detox cycle, with the watermarks as dashed lines) and
// throughput (files done and failed per hour). Our own code; uPlot is vendored under vendor/.
(function () {
  "use strict";

  function dashed(value, color) {
    return { label: value + " %", stroke: color, dash: [6, 4], width: 1, points: { show: false } };
  }

  function finiteMax(values) {
    var finite = values.filter(Number.isFinite);
    return finite.length ? Math.max.apply(null, finite) : 0;
  }

  function occupancy(element, series) {
    var high = Number(element.dataset.high);
    var low = Number(element.dataset.low);
    var top = Math.max(110, finiteMax(series.before.concat(series.after)) + 5);
    return {
      data: [
        series.t,
        series.before,
        series.after,
        series.t.map(function () { return high; }),
        series.t.map(function () { return low; }),
      ],
      options: {
        scales: { y: { range: [0, top] } },
        axes: [{}, { values: function (u, ticks) { return ticks.map(function (v) { return v + " %"; }); } }],
        series: [
          {},
          { label: "before", stroke: "#cf222e", width: 2 },
          { label: "after", stroke: "#1f6feb", width: 2 },
          dashed(high, "#9a6700"),
          dashed(low, "#1a7f37"),
        ],
      },
    };
  }

  function throughput(element, series) {
    return {
      data: [series.t, series.done, series.failed],
      options: {
        series: [
          {},
          { label: "done", stroke: "#1a7f37", fill: "rgba(26,127,55,0.15)", width: 2 },
          { label: "failed", stroke: "#cf222e", width: 2 },
        ],
      },
    };
  }

  var KINDS = { occupancy: occupancy, throughput: throughput };

  function draw(element) {
    var series = JSON.parse(element.dataset.series);
    var made = KINDS[element.dataset.kind || "occupancy"](element, series);
    made.options.width = Math.min(element.clientWidth || 900, 1000) - 16;
    made.options.height = 300;
    element.dataset.points = String(series.t.length);
    new uPlot(made.options, made.data, element);
    element.classList.add("drawn");
  }

  function drawAll() {
    document.querySelectorAll(".chart:not(.drawn)").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", drawAll);
  document.addEventListener("htmx:afterSettle", drawAll);
})();
