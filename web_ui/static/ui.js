// Progressive enhancement only: every page works without this script.
// 1. Times in the browser's locale, deadlines relative ("due in 3 days").
// 2. Live updates by server-sent events: regions marked data-live are refreshed in place.
"use strict";
(function () {
  const units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
                 ["hour", 3600], ["minute", 60], ["second", 1]];
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  const dtf = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

  function relative(ts) {
    const delta = ts - Date.now() / 1000;
    for (const [unit, size] of units) {
      if (Math.abs(delta) >= size || unit === "second") return rtf.format(Math.round(delta / size), unit);
    }
  }

  function localize(root) {
    for (const t of root.querySelectorAll("time[data-ts]")) {
      t.textContent = dtf.format(new Date(Number(t.dataset.ts) * 1000));
    }
    for (const r of root.querySelectorAll("[data-relative]")) {
      const ts = Number(r.dataset.relative);
      const deadline = r.previousElementSibling && r.previousElementSibling.dataset.kind === "deadline";
      r.textContent = "(" + (deadline ? (ts < Date.now() / 1000 ? "was due " : "due ") : "") + relative(ts) + ")";
    }
  }

  async function refresh() {
    const regions = document.querySelectorAll("[data-live]");
    if (!regions.length) {
      const live = document.getElementById("live");
      live.hidden = false;
      live.textContent = "Something changed on this node. ";
      const link = document.createElement("a");
      link.href = location.href; link.textContent = "Reload";
      live.appendChild(link);
      return;
    }
    const response = await fetch(location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const region of regions) {
      const fresh = page.querySelector('[data-live="' + region.dataset.live + '"]');
      if (fresh) { region.replaceWith(fresh); localize(fresh); }
    }
  }

  // datetime-local fields carry no zone: tell the server the browser's offset (else it reads UTC).
  for (const tz of document.querySelectorAll("input[data-tz]")) tz.value = String(new Date().getTimezoneOffset());

  localize(document);
  setInterval(() => localize(document), 60000);
  if (window.EventSource) {
    const events = new EventSource("/events");
    events.addEventListener("changed", () => { refresh().catch(() => {}); });
  }
})();
