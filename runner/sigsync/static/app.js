/* sigsync dashboard: live pages. The server sends an SSE message (/api/live) when events arrive
   or a cycle ends; the page then fetches itself again and swaps its <main>, without a reload,
   at most once a second. Without EventSource (or while it is disconnected) it polls every 30 s. */
(function () {
  "use strict";
  const MIN_GAP_MS = 1000;
  let main = null, dot = null, pending = false, busy = false, last = 0, timer = null;

  function editing() {
    const el = document.activeElement;
    return el && main.contains(el) && /^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName);
  }
  function schedule() {
    pending = true;
    if (busy || timer) return;
    timer = setTimeout(refresh, Math.max(0, MIN_GAP_MS - (Date.now() - last)));
  }
  async function refresh() {
    timer = null;
    if (!pending) return;
    if (editing()) { timer = setTimeout(refresh, 2000); return; }
    busy = true; pending = false; last = Date.now();
    try {
      const answer = await fetch(location.href, { credentials: "same-origin", cache: "no-store",
        headers: { "X-Sigsync-Refresh": "1" } });
      if (answer.status === 401) { location.reload(); return; }
      const doc = new DOMParser().parseFromString(await answer.text(), "text/html");
      const fresh = doc.getElementById("main");
      if (fresh && fresh.dataset.live === "on") {
        if (window.sigsyncCharts) window.sigsyncCharts.destroy(main);
        main.replaceChildren(...Array.from(fresh.childNodes).map((n) => document.importNode(n, true)));
        if (window.sigsyncCharts) window.sigsyncCharts.init(main);
        document.dispatchEvent(new CustomEvent("sigsync:refreshed"));
      }
    } catch (e) {
      /* the server is away: the next message or poll tries again */
    } finally {
      busy = false;
      if (pending) schedule();
    }
  }
  function connect() {
    if (!window.EventSource) return;
    const source = new EventSource("/api/live");
    source.addEventListener("change", schedule);
    source.addEventListener("open", () => { dot.classList.add("on"); });
    source.addEventListener("error", () => { dot.classList.remove("on"); });
  }
  document.addEventListener("DOMContentLoaded", () => {
    main = document.getElementById("main");
    dot = document.getElementById("live");
    if (!main || main.dataset.live !== "on" || !dot) return;
    connect();
    setInterval(() => { if (!dot.classList.contains("on")) schedule(); }, 30000);
  });
})();
