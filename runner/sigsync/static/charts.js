/* sigsync dashboard: the charts, wired to uPlot (static/vendor/uplot). uPlot draws everything;
   this file only turns the JSON each <figure data-chart> carries into uPlot options and data. */
(function () {
  "use strict";
  const charts = new Map();
  const dark = () => window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  const C = {
    band: "rgba(99, 140, 200, 0.28)", close: "#3b6fb6", entry: "#7a5af5", stop: "#d64545", target: "#2e9e5b",
    signal: "#e0a800", be: "#00a3a3", beexit: "#8a8a8a", exit: "#d64545", cancel: "#a0a0a0",
    nobe: "#2e9e5b", bemfe: "#00a3a3", mae: "#d64545", bars: "#3b6fb6", rejected: "#d64545", health: "#2e9e5b",
    gaps: "#e07b00",
  };

  function axis(extra) {
    const ink = dark() ? "#c9d1d9" : "#333";
    const grid = dark() ? "rgba(255,255,255,0.08)" : "rgba(0,0,0,0.07)";
    return Object.assign({ stroke: ink, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }, extra || {});
  }
  function tzDate(tz) {
    return tz ? (ts) => uPlot.tzDate(new Date(ts * 1e3), tz) : undefined;
  }
  function width(el) {
    return Math.max(260, Math.floor(el.getBoundingClientRect().width || el.parentElement.clientWidth || 600));
  }
  function fmtNum(v, d) {
    return v == null ? "—" : Number(v).toLocaleString(undefined, { minimumFractionDigits: d, maximumFractionDigits: d });
  }
  const noPath = () => null;
  const marker = (color, size) => ({ show: true, size: size || 9, fill: color, stroke: color, width: 1 });

  function price(el, d) {
    const b = d.bars, n = b.t.length;
    const decimals = Math.min(5, Math.max(2, ...b.c.map((v) => ((String(v).split(".")[1] || "").length))));
    const series = [{}, { label: "low", stroke: "transparent", width: 0, points: { show: false } },
      { label: "high", stroke: "transparent", width: 0, points: { show: false } },
      { label: "close", stroke: C.close, width: 1.5, points: { show: false }, value: (u, v) => fmtNum(v, decimals) }];
    const data = [b.t, b.l, b.h, b.c];
    const level = (label, value, color, dash) => {
      series.push({ label, stroke: color, width: 1, dash: dash || [6, 4], points: { show: false },
        value: (u, v) => fmtNum(v, decimals) });
      data.push(new Array(n).fill(value));
    };
    if (d.entry != null) level("entry", d.entry, C.entry, [2, 0]);
    if (d.stop != null) level("stop", d.stop, C.stop);
    Object.keys(d.targets || {}).forEach((name) => level(name, d.targets[name], C.target, [3, 5]));
    (d.marks || []).forEach((m) => {
      const values = new Array(n).fill(null);
      values[m.i] = m.price;
      const color = C[m.kind] || "#888";
      series.push({ label: m.label, stroke: color, width: 0, paths: noPath, points: marker(color, 11),
        value: (u, v) => (v == null ? "" : fmtNum(v, decimals)) });
      data.push(values);
    });
    const opts = { width: width(el), height: 320, tzDate: tzDate(d.tz), cursor: { sync: { key: "signal" } },
      scales: { x: { time: true } }, series, bands: [{ series: [2, 1], fill: C.band }],
      axes: [axis(), axis({ size: 86, values: (u, splits) => splits.map((v) => fmtNum(v, decimals)) })] };
    return new uPlot(opts, data, el);
  }

  function path(el, d) {
    const p = d.path;
    const t2 = (label, color) => ({ label: label + " (Tier 2, bars)", stroke: color, width: 1.5, dash: [6, 4],
      points: { show: false }, spanGaps: true, value: (u, v) => (v == null ? "—" : v.toFixed(2) + "R") });
    const real = (label, color) => ({ label: label + " (indicator)", stroke: color, width: 1, spanGaps: true,
      points: marker(color, 5), value: (u, v) => (v == null ? "—" : v.toFixed(2) + "R") });
    const series = [{}, t2("no-BE MFE", C.nobe), t2("BE MFE", C.bemfe), t2("MAE", C.mae),
      real("no-BE MFE", C.nobe), real("BE MFE", C.bemfe), real("MAE", C.mae)];
    const data = [p.t, p.t2_nobe, p.t2_be, p.t2_mae, p.nobe, p.be, p.mae];
    const opts = { width: width(el), height: 220, tzDate: tzDate(d.tz), cursor: { sync: { key: "signal" } },
      scales: { x: { time: true } }, series,
      axes: [axis(), axis({ size: 60, values: (u, splits) => splits.map((v) => v.toFixed(1) + "R") })] };
    return new uPlot(opts, data, el);
  }

  function bars(el, d) {
    const n = d.labels.length;
    const xs = d.labels.map((_, i) => i);
    const short = (s) => s.replace(/^no_/, "");
    const opts = { width: width(el), height: 240, legend: { show: false }, cursor: { points: { show: false } },
      scales: { x: { time: false, range: [-0.6, Math.max(0.6, n - 0.4)] },
        y: { range: (u, min, max) => [0, Math.max(1, Math.ceil((max || 0) * 1.15))] } },
      series: [{}, { label: "open gaps", fill: C.gaps, stroke: C.gaps, width: 1, points: { show: false },
        paths: uPlot.paths.bars({ size: [0.7, 48] }) }],
      axes: [axis({ splits: () => xs, values: (u, splits) => splits.map((i) => short(d.labels[i] || "")), rotate: -40, size: 90,
        gap: 4 }), axis({ size: 44 })] };
    return new uPlot(opts, [xs, d.values], el);
  }

  function cycles(el, d) {
    const opts = { width: width(el), height: 220, tzDate: tzDate(d.tz), scales: { x: { time: true, range: [d.from, d.to] },
        h: { range: [0, 100] }, g: { range: (u, min, max) => [0, Math.max(5, (max || 0) * 1.1)] } },
      series: [{}, { label: "mean health", scale: "h", stroke: C.health, width: 2, points: marker(C.health, 4), spanGaps: true },
        { label: "gaps open after", scale: "g", stroke: C.gaps, width: 1.5, points: marker(C.gaps, 4), spanGaps: true },
        { label: "gaps closed", scale: "g", stroke: "#888", width: 1, dash: [4, 4], points: { show: false }, spanGaps: true }],
      axes: [axis(), axis({ scale: "h", size: 40 }), axis({ scale: "g", side: 1, size: 44, grid: { show: false } })] };
    return new uPlot(opts, [d.t, d.health, d.gaps, d.closed], el);
  }

  function epm(el, d) {
    const opts = { width: width(el), height: 200, tzDate: tzDate(d.tz), scales: { x: { time: true, range: [d.from, d.to] },
        y: { range: (u, min, max) => [0, Math.max(5, (max || 0) * 1.1)] } },
      series: [{}, { label: "events / min", fill: C.bars, stroke: C.bars, width: 1, points: { show: false },
        paths: uPlot.paths.bars({ size: [0.9, 12] }) },
        { label: "rejected", stroke: C.rejected, width: 1.5, points: { show: false } }],
      axes: [axis(), axis({ size: 50 })] };
    return new uPlot(opts, [d.t, d.events, d.rejected], el);
  }

  const kinds = { price, path, bars, cycles, epm };

  function init(root) {
    if (!window.uPlot) return;
    (root || document).querySelectorAll("figure[data-chart]").forEach((el) => {
      const build = kinds[el.dataset.chart];
      const source = el.querySelector('script[type="application/json"]');
      if (!build || !source || charts.has(el)) return;
      charts.set(el, build(el, JSON.parse(source.textContent)));
    });
  }
  function destroy(root) {
    charts.forEach((chart, el) => {
      if (!root || root.contains(el)) {
        chart.destroy();
        charts.delete(el);
      }
    });
  }
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => charts.forEach((chart, el) => chart.setSize({ width: width(el), height: chart.height })), 150);
  });
  window.sigsyncCharts = { init, destroy, charts };
  document.addEventListener("DOMContentLoaded", () => init(document));
})();
