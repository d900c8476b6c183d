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
    gaps: "#e07b00", anomaly: "#b000b0",
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
  /* Numbers as the server's Fmt writes them (dashboard.py): from the exact decimal text the page
     carries, rounded half away from zero (1.125 -> 1.13, 1.005 -> 1.01; toFixed on a binary float
     would not), grouped by thousands, a real minus sign, never a negative zero. */
  const MINUS = "\u2212";
  function dec(text, places) {
    if (text == null || text === "") return "\u2014";
    let s = String(text).trim(), neg = false;
    if (s[0] === "-") { neg = true; s = s.slice(1); }
    const m = /^([0-9]+)(?:\.([0-9]*))?$/.exec(s);
    if (!m) return String(text);
    const frac = (m[2] || "").padEnd(places + 1, "0");
    const digits = (m[1] + frac.slice(0, places)).split("");
    if (frac[places] >= "5") {
      let i = digits.length - 1;
      while (i >= 0 && digits[i] === "9") { digits[i] = "0"; i--; }
      if (i < 0) digits.unshift("1"); else digits[i] = String(Number(digits[i]) + 1);
    }
    const all = digits.join("");
    const whole = (all.slice(0, all.length - places) || "0").replace(/^0+(?=[0-9])/, "");
    const part = all.slice(all.length - places);
    const zero = /^0*$/.test(whole + part);
    return (neg && !zero ? MINUS : "") + whole.replace(/\B(?=([0-9]{3})+(?![0-9]))/g, ",") + (places ? "." + part : "");
  }
  function ownPlaces(text) {   /* a price keeps its own decimals (trailing zeros aside), at least 2 */
    const frac = (String(text).split(".")[1] || "").replace(/0+$/, "");
    return Math.max(2, frac.length);
  }
  const price = (text) => (text == null ? "\u2014" : dec(text, ownPlaces(text)));
  const r = (text) => (text == null ? "\u2014" : dec(text, 2) + "R");
  const tick = (v, places) => dec(Number(v).toFixed(places + 6), places);  /* an axis tick (not a value) */
  const fmt = { dec, price, r };
  const noPath = () => null;
  const marker = (color, size) => ({ show: true, size: size || 9, fill: color, stroke: color, width: 1 });
  const hollow = (color, size) => ({ show: true, size: size || 9, fill: dark() ? "#171c23" : "#ffffff", stroke: color, width: 2.5 });
  /* the legend's value of a series: the exact text of the point under the cursor */
  const textOf = (texts, show) => (u, v, si, idx) => (idx == null || texts[idx] == null ? "\u2014" : show(texts[idx]));

  function priceChart(el, d) {
    const b = d.bars, n = b.t.length;
    const axisPlaces = Math.min(6, Math.max(2, ...b.ct.map((v) => (v == null ? 2 : ownPlaces(v)))));
    const series = [{}, { label: "low", stroke: "transparent", width: 0, points: { show: false } },
      { label: "high", stroke: "transparent", width: 0, points: { show: false } },
      { label: "close", stroke: C.close, width: 1.5, points: { show: false }, value: textOf(b.ct, price) }];
    const data = [b.t, b.l, b.h, b.c];
    (d.levels || []).forEach((l) => {
      const dash = l.kind === "entry" ? [2, 0] : l.kind === "stop" ? [6, 4] : [3, 5];
      series.push({ label: l.label, stroke: C[l.kind] || C.target, width: 1, dash, points: { show: false },
        value: () => price(l.text) });
      data.push(new Array(n).fill(l.y));
    });
    (d.marks || []).forEach((m) => {
      const values = new Array(n).fill(null);
      values[m.i] = m.y;
      const color = C[m.kind] || "#888";
      series.push({ label: m.label, stroke: color, width: 0, paths: noPath,
        points: m.inferred ? hollow(color, 12) : marker(color, 11),
        value: (u, v) => (v == null ? "" : price(m.text)) });
      data.push(values);
    });
    const opts = { width: width(el), height: 320, tzDate: tzDate(d.tz), cursor: { sync: { key: "signal" } },
      scales: { x: { time: true } }, series, bands: [{ series: [2, 1], fill: C.band }],
      axes: [axis(), axis({ size: 86, values: (u, splits) => splits.map((v) => tick(v, axisPlaces)) })] };
    return new uPlot(opts, data, el);
  }

  function pathChart(el, d) {
    const p = d.path, tx = p.text;
    const t2 = (label, key, color) => ({ label: label + " (Tier 2, bars)", stroke: color, width: 1.5, dash: [6, 4],
      points: { show: false }, spanGaps: true, value: textOf(tx[key], r) });
    const real = (label, key, color) => ({ label: label + " (indicator)", stroke: color, width: 1, spanGaps: true,
      points: marker(color, 5), value: textOf(tx[key], r) });
    const series = [{}, t2("no-BE MFE", "t2_nobe", C.nobe), t2("BE MFE", "t2_be", C.bemfe), t2("MAE", "t2_mae", C.mae),
      real("no-BE MFE", "nobe", C.nobe), real("BE MFE", "be", C.bemfe), real("MAE", "mae", C.mae),
      { label: "anomaly (stored, not applied)", stroke: C.anomaly, width: 0, paths: noPath,
        points: hollow(C.anomaly, 10),
        value: (u, v, si, idx) => (idx == null || tx.anomaly[idx] == null ? "" : p.anomaly_field[idx] + " " + r(tx.anomaly[idx])) }];
    const data = [p.t, p.t2_nobe, p.t2_be, p.t2_mae, p.nobe, p.be, p.mae, p.anomaly];
    const opts = { width: width(el), height: 220, tzDate: tzDate(d.tz), cursor: { sync: { key: "signal" } },
      scales: { x: { time: true } }, series,
      axes: [axis(), axis({ size: 60, values: (u, splits) => splits.map((v) => tick(v, 1) + "R") })] };
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
        { label: "open gaps", scale: "g", stroke: C.gaps, width: 1.5, points: marker(C.gaps, 4), spanGaps: true },
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

  const kinds = { price: priceChart, path: pathChart, bars, cycles, epm };

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
  window.sigsyncCharts = { init, destroy, charts, fmt };
  document.addEventListener("DOMContentLoaded", () => init(document));
})();
