// seams dashboard: plain JavaScript, no framework, no build step, nothing
// fetched from anywhere but this server. Pages are built with DOM calls
// (never innerHTML), so no text from the store is ever parsed as markup;
// the Content-Security-Policy forbids inline script besides.
//
// The API token is kept in sessionStorage: it lives as long as the tab and
// is sent only as an Authorization header, never as a cookie, so the
// browser never attaches it to a request another site makes (no CSRF).

const TOKEN_KEY = "seams.token";
const main = document.getElementById("main");
const statusLine = document.getElementById("status");
let me = null; // GET /api/me
let regionCache = null;
let compoundNames = null; // id -> name, from GET /api/compounds?counts=false

// names returns the compounds' names by id (asked once a session: the
// registry's reference data).
async function names() {
  if (!compoundNames) {
    const cs = await api("/api/compounds" + qs({ counts: "false" }));
    compoundNames = Object.fromEntries(cs.compounds.map((c) => [c.id, c.name]));
  }
  return compoundNames;
}

// Navigation: each route() is one navigation. A page that answers after
// the user has moved on must not replace the page now shown: route()
// aborts the requests of the previous navigation (navAbort) and api()
// refuses an answer that arrives for an older navigation (navSeq). The
// number of answers dropped so is kept on <main data-dropped>, for tests
// and for anyone puzzled by the network panel.
let navSeq = 0;
let navAbort = new AbortController();

class StaleError extends Error {
  constructor() { super("the page was left before this answer came"); this.name = "StaleError"; }
}

function dropped() {
  main.dataset.dropped = String(Number(main.dataset.dropped || 0) + 1);
}

// ---- DOM helpers -------------------------------------------------------

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  append(el, children);
  return el;
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function setProps(el, props) {
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

function say(text, error) {
  statusLine.textContent = text || "";
  statusLine.classList.toggle("error", !!error);
}

function page(title, ...children) {
  document.title = title + " · seams";
  main.replaceChildren(h("h1", null, title));
  append(main, children);
  main.focus({ preventScroll: true });
}

const fmt = new Intl.NumberFormat("en");
const num = (n) => fmt.format(n || 0);

function when(t) {
  if (!t) return "";
  const d = new Date(t);
  if (isNaN(d)) return t;
  return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

function day(t) {
  return t ? new Date(t).toISOString().slice(0, 10) : "";
}

function tierBadge(tier) {
  const label = tier === "tied" ? "tied" : tier === "potential" ? "potential" : "withdrawn";
  return h("span", { class: "tier " + (tier || "none") }, label);
}

function markText(review) {
  if (!review || review.mark === "none") return h("span", { class: "muted" }, "not reviewed");
  return h("span", { class: "mark " + review.mark }, review.mark + (review.stale ? " (changed since)" : ""));
}

const link = (href, text) => h("a", { href }, text);
const compoundLink = (id, name) => link("#/compound/" + encodeURIComponent(id), name || id);
const findingLink = (id, text) => link("#/finding/" + id, text || "#" + id);

// ---- API ---------------------------------------------------------------

class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// api calls the API. A GET belongs to the navigation it was made in: it
// is aborted when the user moves on, and its answer is refused (StaleError)
// if it comes after. A change (POST, DELETE) is never aborted: it may
// already be stored.
async function api(path, opts = {}) {
  const headers = { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) };
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(opts.json);
  }
  const method = opts.method || "GET";
  const seq = navSeq;
  const signal = method === "GET" ? navAbort.signal : undefined;
  let resp;
  try {
    resp = await fetch(path, { method, headers, body: opts.body, cache: "no-store", credentials: "omit", signal });
  } catch (e) {
    if (e.name === "AbortError") throw new StaleError();
    throw e;
  }
  if (method === "GET" && seq !== navSeq) throw new StaleError();
  if (resp.status === 204) return null;
  let body = null;
  try { body = await resp.json(); } catch { body = null; }
  if (method === "GET" && seq !== navSeq) throw new StaleError();
  if (!resp.ok) {
    const msg = (body && body.error) || resp.statusText;
    if (resp.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      me = null;
      showLogin("Your token was refused (" + msg + "). Log in again.");
    }
    throw new APIError(resp.status, msg);
  }
  return body;
}

function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "" && v !== false) u.set(k, v);
  }
  const s = u.toString();
  return s ? "?" + s : "";
}

// ---- tables ------------------------------------------------------------

// table renders rows with columns {key, label, value(row) -> sortable
// value, cell(row) -> node, num}; headers are buttons that sort the rows.
function table(columns, rows, opts = {}) {
  const tbody = h("tbody");
  const state = { key: opts.sortKey || null, dir: opts.sortDir || 1 };
  const ths = columns.map((c) => {
    const th = h("th", { scope: "col", class: c.num ? "num" : null });
    if (c.value) {
      th.append(h("button", { type: "button", onclick: () => sortBy(c.key) }, c.label));
    } else {
      th.textContent = c.label;
    }
    return th;
  });
  function sortBy(key) {
    state.dir = state.key === key ? -state.dir : 1;
    state.key = key;
    draw();
  }
  function draw() {
    let list = rows.slice();
    const col = columns.find((c) => c.key === state.key);
    columns.forEach((c, i) => {
      if (c.value) ths[i].setAttribute("aria-sort", c.key === state.key ? (state.dir > 0 ? "ascending" : "descending") : "none");
    });
    if (col) {
      list.sort((a, b) => {
        const x = col.value(a), y = col.value(b);
        return (x < y ? -1 : x > y ? 1 : 0) * state.dir;
      });
    }
    tbody.replaceChildren(...list.map((r) => h("tr", { class: opts.rowClass ? opts.rowClass(r) : null }, columns.map((c) => h("td", { class: c.num ? "num" : null }, c.cell ? c.cell(r) : String(c.value(r) ?? ""))))));
    if (!list.length) tbody.append(h("tr", null, h("td", { colspan: columns.length, class: "muted" }, opts.empty || "Nothing to show.")));
  }
  draw();
  return h("table", null, opts.caption ? h("caption", { class: "muted" }, opts.caption) : null, h("thead", null, h("tr", null, ths)), tbody);
}

// ---- charts ------------------------------------------------------------

// CHAR_W is a generous width of one character of the charts' 11px text:
// an SVG built off-screen cannot be measured, so room for labels is
// reserved from their length (a browser test holds every label inside its
// chart).
const CHAR_W = 7;
const textW = (t) => String(t).length * CHAR_W;

// clipText shortens t to at most n characters, with an ellipsis.
const clipText = (t, n) => (t.length > n ? t.slice(0, Math.max(1, n - 1)) + "…" : t);

// hbars draws horizontal stacked bars (tied, potential) for rows of
// {label, href, tied, potential}. The label column is as wide as the
// longest label (up to 40% of the chart; longer names are shortened, the
// whole name in the tooltip), and the totals at the end of the bars have
// the room their longest needs.
function hbars(rows, title) {
  const rowH = 22, width = 560;
  const totals = rows.map((r) => `${num(r.tied)} / ${num(r.potential)}`);
  const labelW = Math.min(width * 0.4, Math.max(24, ...rows.map((r) => textW(r.label))) + 10);
  const valueW = Math.max(0, ...totals.map(textW)) + 8;
  const barW = Math.max(40, width - labelW - valueW);
  const max = Math.max(1, ...rows.map((r) => r.tied + r.potential));
  const svg = s("svg", { viewBox: `0 0 ${width} ${rows.length * rowH + 8}`, class: "bars", role: "img", "aria-label": title });
  rows.forEach((r, i) => {
    const y = i * rowH + 4;
    const wt = (r.tied / max) * barW, wp = (r.potential / max) * barW;
    const label = s("text", { x: labelW - 6, y: y + 14, "text-anchor": "end" }, clipText(r.label, Math.floor((labelW - 10) / CHAR_W)), s("title", null, r.label));
    svg.append(r.href ? s("a", { href: r.href }, label) : label);
    svg.append(s("rect", { x: labelW, y, width: Math.max(wt, 0), height: rowH - 6, class: "bar-tied" }, s("title", null, `${r.label}: ${r.tied} tied`)));
    svg.append(s("rect", { x: labelW + wt, y, width: Math.max(wp, 0), height: rowH - 6, class: "bar-potential" }, s("title", null, `${r.label}: ${r.potential} potential`)));
    svg.append(s("text", { x: labelW + wt + wp + 4, y: y + 14, class: "axis total" }, totals[i]));
  });
  return svg;
}

const tierLegend = () => h("ul", { class: "legend" },
  h("li", null, h("span", { class: "sw sq tied" }), "tied reports"),
  h("li", null, h("span", { class: "sw sq potential" }), "potentially associated"));

// timeline draws findings per month, stacked by tier.
// allMonths fills the months with no findings between the first and the
// last, so that the axis is time and gaps show as gaps.
function allMonths(months) {
  const have = months.filter((m) => m.month !== "");
  if (!have.length) return [];
  const by = Object.fromEntries(have.map((m) => [m.month, m]));
  const [y0, m0] = have[0].month.split("-").map(Number), [y1, m1] = have[have.length - 1].month.split("-").map(Number);
  const out = [];
  for (let y = y0, m = m0; (y < y1 || (y === y1 && m <= m1)) && out.length < 600; m === 12 ? (y++, m = 1) : m++) {
    const key = `${y}-${String(m).padStart(2, "0")}`;
    out.push(by[key] || { month: key, tied: 0, potential: 0 });
  }
  return out;
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten, for ticks.
function niceMax(v) {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(1, v))));
  for (const k of [1, 2, 5, 10]) if (k * p >= v) return k * p;
  return 10 * p;
}

function timeline(months, title) {
  const ms = allMonths(months);
  const width = 760, height = 200, bottom = 28, top = 8, right = 8;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, class: "timeline", role: "img", "aria-label": title });
  if (!ms.length) {
    const left = 44;
    svg.append(s("text", { x: left, y: 40, class: "axis" }, "No findings with a time yet."));
    return svg;
  }
  // Whole-number ticks: steps of 1 or 2 for small counts, else a fifth
  // of a round maximum.
  const peak = Math.max(1, ...ms.map((m) => m.tied + m.potential));
  const step = peak <= 5 ? 1 : peak <= 10 ? 2 : niceMax(peak) / 5;
  const max = Math.ceil(peak / step) * step;
  const left = Math.max(30, textW(num(max)) + 8); // room for the longest tick
  const plotH = height - bottom - top, slot = (width - left - right) / ms.length, bw = Math.max(1, slot * 0.8);
  for (let v = 0; v <= max; v += step) {
    const y = top + plotH - (v / max) * plotH;
    svg.append(s("line", { x1: left, x2: width - right, y1: y, y2: y, class: "grid" }));
    svg.append(s("text", { x: left - 4, y: y + 4, "text-anchor": "end", class: "axis" }, num(v)));
  }
  // Month labels: every few months, and always the last, which is kept
  // inside the chart (anchored at its end when centring would cut it) and
  // wins over a regular label it would overlap.
  const every = Math.ceil(ms.length / 12), labelW = textW("2024-01");
  const last = ms.length - 1;
  const labelled = (i) => i === last || (i % every === 0 && (last - i) * slot >= labelW * 1.5 + 4);
  ms.forEach((m, i) => {
    const x = left + i * slot + (slot - bw) / 2;
    const ht = (m.tied / max) * plotH, hp = (m.potential / max) * plotH;
    const base = top + plotH;
    svg.append(s("rect", { x, y: base - ht, width: bw, height: ht, class: "bar-tied" }, s("title", null, `${m.month}: ${m.tied} tied`)));
    svg.append(s("rect", { x, y: base - ht - hp, width: bw, height: hp, class: "bar-potential" }, s("title", null, `${m.month}: ${m.potential} potential`)));
    if (labelled(i)) {
      let lx = x + bw / 2, anchor = "middle";
      if (lx + labelW / 2 > width - 1) { lx = width - 1; anchor = "end"; }
      if (lx - labelW / 2 < 1) { lx = 1; anchor = "start"; }
      svg.append(s("text", { x: lx, y: height - 10, "text-anchor": anchor, class: "axis month" }, m.month));
    }
  });
  return svg;
}

// ---- map ---------------------------------------------------------------

async function region() {
  if (!regionCache) {
    const resp = await fetch("/ui/region.json", { cache: "no-cache" });
    regionCache = await resp.json();
  }
  return regionCache;
}

const FOCUS = new Set(["KH", "MM", "LA", "TH"]);

// compoundMap draws the base map (equirectangular, longitudes scaled by
// the cosine of the middle latitude) with a marker per located compound:
// its area grows with its tied reports, its colour says its status, and
// its name is written beside it. Markers that would overlap at the
// current zoom are drawn as one cluster, which says how many it holds and
// zooms in to them when followed. Zoom with the buttons or the wheel; the
// map is the embedded region.json and nothing else: no tiles, offline.
function compoundMap(reg, compounds, title) {
  const view = [90, 5, 110, 28.5]; // lon min, lat min, lon max, lat max
  const k = 30, cx = Math.cos(((view[1] + view[3]) / 2) * Math.PI / 180);
  const px = (lon) => (lon - view[0]) * cx * k, py = (lat) => (view[3] - lat) * k;
  const width = px(view[2]), height = py(view[1]);
  const MAXZ = 16;
  const svg = s("svg", { viewBox: `0 0 ${width.toFixed(0)} ${height.toFixed(0)}`, class: "map", role: "img", "aria-label": title });
  svg.append(s("rect", { x: 0, y: 0, width, height, class: "sea" }));
  for (const c of reg.countries) {
    const d = c.rings.map((r) => "M" + r.map(([lon, lat]) => px(lon).toFixed(1) + "," + py(lat).toFixed(1)).join("L") + "Z").join("");
    svg.append(s("path", { d, class: "land" + (FOCUS.has(c.iso) ? " focus" : "") }, s("title", null, c.name)));
  }
  const countryLabels = s("g", { class: "cnames" });
  const labels = { MM: [96.2, 21.5], TH: [100.9, 15.6], LA: [102.6, 19.6], KH: [104.9, 12.7], VN: [107.5, 14.5], CN: [103, 26.5], MY: [102.2, 5.6], BD: [90.4, 24.2] };
  for (const c of reg.countries) {
    const at = labels[c.iso];
    if (at) countryLabels.append(s("g", { "data-x": px(at[0]), "data-y": py(at[1]) }, s("text", { x: 0, y: 0, "text-anchor": "middle", class: "cname" }, c.name)));
  }
  svg.append(countryLabels);
  const markers = s("g", { class: "markers" });
  svg.append(markers);
  const located = compounds.filter((c) => c.lat !== undefined && c.lon !== undefined).sort((a, b) => b.tied - a.tied || a.id.localeCompare(b.id));
  const max = Math.max(1, ...located.map((c) => c.tied));
  for (const c of located) {
    c._x = px(c.lon);
    c._y = py(c.lat);
    c._r = 3 + 14 * Math.sqrt(c.tied / max); // in units of the whole map
  }
  // The visible window: centre and zoom (1 = the whole region).
  const st = { z: 1, x: width / 2, y: height / 2 };
  const zoomText = h("span", { class: "muted zoom-level", "aria-live": "polite" });

  // cluster groups the markers that would overlap on screen at zoom z,
  // biggest first: a marker joins the first group whose centre it
  // overlaps.
  function cluster(z) {
    const groups = [];
    for (const c of located) {
      const g = groups.find((g) => Math.hypot(g.x - c._x, g.y - c._y) * z < g.r + c._r);
      if (g) {
        g.members.push(c);
        g.r = Math.min(22, Math.max(g.r, c._r) + 1.5);
      } else {
        groups.push({ x: c._x, y: c._y, r: c._r, members: [c] });
      }
    }
    return groups;
  }

  function draw() {
    const w = width / st.z, hh = height / st.z;
    st.x = Math.min(Math.max(st.x, w / 2), width - w / 2);
    st.y = Math.min(Math.max(st.y, hh / 2), height - hh / 2);
    svg.setAttribute("viewBox", `${(st.x - w / 2).toFixed(2)} ${(st.y - hh / 2).toFixed(2)} ${w.toFixed(2)} ${hh.toFixed(2)}`);
    // Markers and labels are drawn at the origin, scaled by 1/zoom where
    // they stand, so that they keep their size on screen.
    const at = (x, y) => `translate(${x.toFixed(2)} ${y.toFixed(2)}) scale(${(1 / st.z).toFixed(4)})`;
    for (const g of countryLabels.children) g.setAttribute("transform", at(Number(g.dataset.x), Number(g.dataset.y)));
    markers.replaceChildren();
    for (const g of cluster(st.z)) {
      if (g.members.length === 1) {
        const c = g.members[0];
        const label = `${c.name} (${c.country}, ${c.status || "status unknown"}): ${c.tied} tied, ${c.potential} potential`;
        markers.append(s("a", { href: "#/compound/" + encodeURIComponent(c.id), "aria-label": label, class: "marker", "data-compound": c.id },
          s("g", { transform: at(c._x, c._y) },
            s("circle", { cx: 0, cy: 0, r: c._r.toFixed(2), class: "s-" + (c.status || "unknown") }, s("title", null, label)),
            s("text", { x: (c._r + 2).toFixed(2), y: 3.5, class: "mlabel" }, c.name))));
        continue;
      }
      const tied = g.members.reduce((n, c) => n + c.tied, 0);
      const names = g.members.map((c) => c.name);
      const label = `${g.members.length} compounds close together: ${names.join(", ")} (${tied} tied). Zoom in to tell them apart.`;
      const open = () => {
        // Zoom to fit the cluster's compounds, with room around them.
        const xs = g.members.map((c) => c._x), ys = g.members.map((c) => c._y);
        const span = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys), 0.01);
        st.x = (Math.max(...xs) + Math.min(...xs)) / 2;
        st.y = (Math.max(...ys) + Math.min(...ys)) / 2;
        st.z = Math.min(MAXZ, Math.max(st.z * 2, (3 * 30) / span));
        draw();
      };
      const gEl = s("g", { class: "cluster", role: "button", tabindex: 0, "aria-label": label, "data-compounds": g.members.map((c) => c.id).join(" "), transform: at(g.x, g.y) },
        s("circle", { cx: 0, cy: 0, r: g.r.toFixed(2) }, s("title", null, label)),
        s("text", { x: 0, y: 4, "text-anchor": "middle", class: "ccount" }, String(g.members.length)),
        s("text", { x: (g.r + 2).toFixed(2), y: 3.5, class: "mlabel" },
          names.length > 2 ? `${names[0]} and ${names.length - 1} more` : names.join(" · ")));
      gEl.addEventListener("click", open);
      gEl.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
      markers.append(gEl);
    }
    zoomText.textContent = st.z === 1 ? "whole region" : `zoom ×${st.z}`;
  }
  const zoomBy = (f) => { st.z = Math.min(MAXZ, Math.max(1, st.z * f)); draw(); };
  svg.addEventListener("wheel", (e) => {
    e.preventDefault();
    // Zoom around the point under the pointer.
    const r = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
    const mx = vb.x + ((e.clientX - r.left) / r.width) * vb.width, my = vb.y + ((e.clientY - r.top) / r.height) * vb.height;
    const before = st.z;
    st.z = Math.min(MAXZ, Math.max(1, st.z * (e.deltaY < 0 ? 2 : 0.5)));
    st.x = mx + (st.x - mx) * (before / st.z);
    st.y = my + (st.y - my) * (before / st.z);
    draw();
  }, { passive: false });
  draw();
  const missing = compounds.length - located.length;
  return h("figure", null,
    h("div", { class: "map-tools" },
      h("button", { type: "button", id: "map-zoom-in", "aria-label": "Zoom in", onclick: () => zoomBy(2) }, "+"),
      h("button", { type: "button", id: "map-zoom-out", "aria-label": "Zoom out", onclick: () => zoomBy(0.5) }, "−"),
      h("button", { type: "button", id: "map-reset", onclick: () => { st.z = 1; st.x = width / 2; st.y = height / 2; draw(); } }, "Whole region"),
      zoomText),
    svg, h("figcaption", null,
    h("ul", { class: "legend" }, ["active", "raided", "closed", "unknown"].map((st) => h("li", null, h("span", { class: "sw " + st }), st))),
    "Marker area grows with tied reports; a numbered circle holds compounds too close to tell apart at this zoom: follow it to zoom in.",
    missing ? ` ${missing} compounds have no location and are not on the map.` : ""));
}

// ---- pages -------------------------------------------------------------

async function overview() {
  const [sum, cs, reg] = await Promise.all([api("/api/summary"), api("/api/compounds" + qs({ counts: "false" })), region()]);
  const names = Object.fromEntries(cs.compounds.map((c) => [c.id, c.name]));
  const counts = Object.fromEntries(sum.by_compound.map((c) => [c.compound, c]));
  for (const c of cs.compounds) {
    c.tied = (counts[c.id] || {}).tied || 0;
    c.potential = (counts[c.id] || {}).potential || 0;
  }
  page("Overview",
    h("div", { class: "cards" },
      card(num(sum.reports), "reports scanned", `${num(sum.events)} IP events, ${num(sum.devices)} devices`),
      card(num(sum.tied_reports), "tied", "reports tied to a compound"),
      card(num(sum.potential_reports), "potentially associated", "reports, and not tied"),
      card(num(sum.compounds_tied), "compounds with tied reports", `of ${num(sum.registry.compounds)} compounds`),
      card(num(sum.findings), "findings", `${num(sum.reviews.confirmed)} confirmed, ${num(sum.reviews.dismissed)} dismissed, ${num(sum.reviews.unreviewed)} not reviewed`)),
    sum.last_run ? h("p", { class: "muted" }, `Last run #${sum.last_run.id}, ${when(sum.last_run.finished)}, by ${sum.last_run.by}: ${num(sum.last_run.scanned)} reports matched.`)
      : h("p", { class: "muted" }, "No cross-reference has run yet."),
    h("p", null, h("button", { type: "button", id: "brief", onclick: (ev) => downloadBrief(ev.currentTarget) }, "Download the brief"),
      " ", h("span", { class: "muted" }, "figures, method, limitations, charts and the evidence of tied findings, in one HTML file")),
    h("div", { class: "grid2" },
      h("section", { "aria-labelledby": "map-h" }, h("h2", { id: "map-h" }, "Compounds"), compoundMap(reg, cs.compounds, "Map of compounds in mainland South-East Asia")),
      h("section", null,
        h("h2", { id: "bc-h" }, "Reports by compound"), tierLegend(),
        hbars(sum.by_compound.slice(0, 15).map((c) => ({ label: names[c.compound] || c.name || c.compound, href: "#/compound/" + encodeURIComponent(c.compound), tied: c.tied, potential: c.potential })), "Reports by compound"),
        sum.by_compound.length > 15 ? h("p", null, link("#/compounds", `All ${sum.by_compound.length} compounds`)) : null,
        h("h2", null, "Reports by country"),
        hbars(sum.by_country.map((c) => ({ label: c.country, href: "#/findings?country=" + c.country, tied: c.tied, potential: c.potential })), "Reports by country"))),
    h("section", null, h("h2", null, "Findings per month"), tierLegend(), timeline(sum.by_month, "Findings per month by tier")));
}

// downloadBrief fetches the brief of what this token may see (GET
// /api/brief) and saves it as a file: a self-contained document, read
// offline, never opened under the dashboard's origin.
async function downloadBrief(btn) {
  btn.disabled = true;
  say("Making the brief…");
  try {
    const resp = await fetch("/api/brief", { headers: { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) }, cache: "no-store", credentials: "omit" });
    if (!resp.ok) {
      let msg = resp.statusText;
      try { msg = (await resp.json()).error || msg; } catch { /* not JSON */ }
      throw new APIError(resp.status, msg);
    }
    const url = URL.createObjectURL(await resp.blob());
    const a = h("a", { href: url, download: "seams-brief.html" });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    say("The brief was saved as seams-brief.html.");
  } catch (err) {
    say("The brief could not be made: " + err.message, true);
  } finally {
    btn.disabled = false;
  }
}

function card(n, label, sub) {
  return h("div", { class: "card" }, h("span", { class: "n" }, n), h("span", { class: "l" }, label), sub ? h("div", { class: "muted" }, sub) : null);
}

async function compounds() {
  const cs = await api("/api/compounds");
  page("Compounds", table([
    { key: "name", label: "Compound", value: (c) => c.name.toLowerCase(), cell: (c) => compoundLink(c.id, c.name) },
    { key: "country", label: "Country", value: (c) => c.country },
    { key: "status", label: "Status", value: (c) => c.status || "" },
    { key: "tied", label: "Tied", num: true, value: (c) => c.tied },
    { key: "potential", label: "Potential", num: true, value: (c) => c.potential },
    { key: "confirmed", label: "Confirmed", num: true, value: (c) => c.confirmed },
    { key: "ind", label: "Indicators", num: true, value: (c) => c.indicators.ip + c.indicators.cidr + c.indicators.device + c.indicators.asn },
    { key: "last", label: "Last finding", value: (c) => c.last || "", cell: (c) => day(c.last) },
  ], cs.compounds, { sortKey: "tied", sortDir: -1 }));
}

async function compound(id) {
  const [c, inds, fs] = await Promise.all([
    api("/api/compounds/" + encodeURIComponent(id)),
    api("/api/indicators" + qs({ compound: id, limit: 1000 })),
    api("/api/findings" + qs({ compound: id, sort: "newest", limit: 50, count: true })),
  ]);
  const cc = c.compound;
  page(cc.name,
    h("dl", { class: "facts" },
      h("dt", null, "Id"), h("dd", { class: "mono" }, cc.id),
      h("dt", null, "Also known as"), h("dd", null, cc.aliases.length ? cc.aliases.join("; ") : "—"),
      h("dt", null, "Status"), h("dd", null, cc.status || "not given"),
      h("dt", null, "Location"), h("dd", null, [cc.province, cc.country].filter(Boolean).join(", ") + (cc.lat !== undefined ? ` (${cc.lat}, ${cc.lon})` : " (no coordinates)")),
      h("dt", null, "Reports"), h("dd", null, `${num(cc.tied)} tied, ${num(cc.potential)} potentially associated; ${num(cc.confirmed)} findings confirmed, ${num(cc.dismissed)} dismissed`),
      h("dt", null, "Indicators"), h("dd", null, `${num(cc.indicators.ip)} addresses, ${num(cc.indicators.cidr)} prefixes, ${num(cc.indicators.device)} devices` + (cc.indicators.asn ? `, ${num(cc.indicators.asn)} ASNs` : ""))),
    h("h2", null, "Findings over time"), tierLegend(), timeline(c.summary.by_month, "Findings of this compound per month"),
    h("h2", null, "Indicators and their windows"), windows(inds.indicators),
    table([
      { key: "kind", label: "Kind", value: (i) => i.kind },
      { key: "value", label: "Value", value: (i) => i.value, cell: (i) => h("span", { class: "mono" }, i.value) },
      { key: "first", label: "First seen", value: (i) => i.first_seen || "", cell: (i) => day(i.first_seen) || "open" },
      { key: "last", label: "Last seen", value: (i) => i.last_seen || "~", cell: (i) => day(i.last_seen) || "open" },
      { key: "source", label: "Source", value: (i) => i.source || "" },
      { key: "file", label: "File", value: (i) => `${i.org}/${i.file}`, cell: (i) => `${i.org}/${i.file}:${i.line} (v${i.version})` },
      freshnessColumn,
    ], inds.indicators, { caption: inds.next ? "The first 1,000 indicators." : null }),
    h("h2", null, `Latest findings (${num(fs.total)})`), findingTable(fs.findings, { compoundColumn: false }),
    h("p", null, link("#/findings" + qs({ compound: id, review: "none", sort: "tier" }), "Review queue of " + cc.name)),
    h("p", null, link("#/findings?compound=" + encodeURIComponent(id), "All findings of " + cc.name)));
}

// freshnessColumn is an indicator's decay score now (docs/decay.md), with
// the sightings and false positives reviews gave it; beside the tier, it
// never changes it.
const freshnessColumn = {
  key: "score", label: "Score now", num: true, value: (i) => (i.freshness ? i.freshness.score : -1),
  cell: (i) => (i.freshness ? `${i.freshness.score}${i.freshness.decayed ? " (decayed)" : ""}` +
    (i.freshness.sightings || i.freshness.false_positives ? `; ${i.freshness.sightings} confirmed, ${i.freshness.false_positives} dismissed` : "") : "-"),
};

// windows draws each indicator's window as a bar on a common time axis;
// an open end runs to the edge, drawn dashed.
function windows(list) {
  const shown = list.slice(0, 60);
  if (!shown.length) return h("p", { class: "muted" }, "No indicators visible to you.");
  const times = [];
  for (const i of shown) {
    if (i.first_seen) times.push(Date.parse(i.first_seen));
    if (i.last_seen) times.push(Date.parse(i.last_seen));
  }
  const now = Date.now();
  let lo = times.length ? Math.min(...times) : now - 365 * 864e5, hi = times.length ? Math.max(...times) : now;
  if (hi - lo < 30 * 864e5) { lo -= 15 * 864e5; hi += 15 * 864e5; }
  const pad = (hi - lo) * 0.05; lo -= pad; hi += pad;
  const rowH = 16, left = 190, width = 760, plotW = width - left - 10, top = 20;
  const x = (t) => left + ((t - lo) / (hi - lo)) * plotW;
  const svg = s("svg", { viewBox: `0 0 ${width} ${top + shown.length * rowH + 6}`, role: "img", "aria-label": "Indicator windows on a timeline" });
  const y0 = new Date(lo).getUTCFullYear(), y1 = new Date(hi).getUTCFullYear();
  for (let y = y0; y <= y1 + 1; y++) {
    const t = Date.UTC(y, 0, 1);
    if (t < lo || t > hi) continue;
    svg.append(s("line", { x1: x(t), x2: x(t), y1: top - 4, y2: top + shown.length * rowH, class: "grid" }));
    svg.append(s("text", { x: x(t) + 2, y: 12, class: "axis" }, String(y)));
  }
  shown.forEach((i, n) => {
    const y = top + n * rowH;
    const a = i.first_seen ? x(Date.parse(i.first_seen)) : left, b = i.last_seen ? x(Date.parse(i.last_seen)) : left + plotW;
    svg.append(s("text", { x: left - 6, y: y + 11, "text-anchor": "end", class: "mtext" }, (i.value.length > 28 ? i.value.slice(0, 27) + "…" : i.value)));
    svg.append(s("rect", { x: a, y: y + 2, width: Math.max(2, b - a), height: rowH - 5, class: i.kind === "device" ? "bar-tied" : "bar-potential",
      "stroke-dasharray": !i.first_seen || !i.last_seen ? "4 2" : null, stroke: !i.first_seen || !i.last_seen ? "#57606a" : null },
    s("title", null, `${i.kind} ${i.value}: ${day(i.first_seen) || "open"} to ${day(i.last_seen) || "open"}, source ${i.source || "not given"}`)));
  });
  return h("figure", null, svg, h("figcaption", null, "Red: device indicators; yellow: addresses and prefixes. A dashed bar is open on one side." +
    (list.length > shown.length ? ` The first ${shown.length} of ${list.length} are drawn.` : "")));
}

// findingTable lists findings: compounds by name, each report a link to
// all the findings of that report. opts.sort, on a list the server pages,
// makes the headers of the orders it has (finding, tier, observation)
// links to that order over all pages: a page sorted in the browser would
// sort only itself.
function findingTable(list, opts = {}) {
  const nm = opts.names || {};
  const srv = opts.sort; // {current, href(sort)}
  const cols = [
    { key: "id", label: "Finding", num: true, value: (f) => f.id, cell: (f) => findingLink(f.id), orders: ["", "newest"] },
    { key: "report", label: "Report", value: (f) => f.report, cell: (f) => link("#/findings" + qs({ report: f.report }), h("span", { class: "mono" }, f.report)) },
  ];
  if (opts.compoundColumn !== false) cols.push({ key: "compound", label: "Compound", value: (f) => nm[f.compound] || f.compound, cell: (f) => compoundLink(f.compound, nm[f.compound]) });
  cols.push(
    { key: "tier", label: "Tier", value: (f) => f.tier, cell: (f) => tierBadge(f.tier), orders: ["tier"] },
    { key: "at", label: "Earliest observation", value: (f) => f.at || "", cell: (f) => when(f.at), orders: ["recent"] },
    { key: "rules", label: "Evidence", value: (f) => f.evidence.map((e) => e.rule).join(", ") },
    { key: "review", label: "Review", value: (f) => f.review.mark, cell: (f) => markText(f.review) });
  if (!srv) return table(cols, list, { empty: opts.empty });
  // Server order: plain headers, links for the orders the server has.
  const ths = cols.map((c) => {
    const th = h("th", { scope: "col", class: c.num ? "num" : null });
    if (!c.orders) {
      th.textContent = c.label;
      return th;
    }
    const on = c.orders.includes(srv.current);
    // The id header flips between oldest and newest; the others set their order.
    const next = c.key === "id" ? (srv.current === "" ? "newest" : "") : c.orders[0];
    th.setAttribute("aria-sort", on ? (srv.current === "" ? "ascending" : "descending") : "none");
    th.append(link(srv.href(next), c.label));
    return th;
  });
  const rows = list.map((f) => h("tr", null, cols.map((c) => h("td", { class: c.num ? "num" : null }, c.cell ? c.cell(f) : String(c.value(f) ?? "")))));
  if (!rows.length) rows.push(h("tr", null, h("td", { colspan: cols.length, class: "muted" }, opts.empty || "Nothing to show.")));
  return h("table", { class: "server-sorted" }, h("thead", null, h("tr", null, ths)), h("tbody", null, rows));
}

const FILTERS = ["tier", "compound", "country", "incident", "report", "review", "stale", "rule", "source", "asn", "from", "to", "withdrawn", "sort"];

// pagerOf links the first, previous and next pages of a list the server
// pages with cursors.
function pagerOf(base, q, res, cursor) {
  return h("div", { class: "pager" },
    cursor ? link(base + qs(q), "First page") : null,
    res.prev ? link(base + qs({ ...q, cursor: res.prev }), "Previous page") : null,
    res.next ? link(base + qs({ ...q, cursor: res.next }), "Next page") : null,
    h("span", { class: "muted total" }, `${res.findings.length} on this page.`));
}

async function findings(params) {
  const q = {};
  for (const k of FILTERS) if (params.get(k)) q[k] = params.get(k);
  const cursor = params.get("cursor") || "";
  // Pages of 100 unless the link says otherwise (kept in the pager's links).
  const limit = params.get("limit") || "";
  const paging = limit ? { ...q, limit } : q;
  // The page comes first; the total (a count over every matching finding,
  // slow on millions) fills in when it arrives.
  const [res, cs, nm] = await Promise.all([api("/api/findings" + qs({ ...q, cursor, limit: limit || 100 })), api("/api/compounds" + qs({ counts: "false" })), names()]);
  const field = (name, label, input) => h("div", null, h("label", { for: "f-" + name }, label), input);
  const select = (name, options) => h("select", { id: "f-" + name, name },
    options.map(([v, t]) => { const o = h("option", { value: v }, t); if ((q[name] || "") === v) o.selected = true; return o; }));
  const input = (name, type, extra) => h("input", { id: "f-" + name, name, type, value: q[name] || "", ...extra });
  const form = h("form", { class: "filters", onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const next = {};
    for (const [k, v] of data.entries()) if (v) next[k] = v;
    location.hash = "#/findings" + qs(next);
  } },
  field("tier", "Tier", select("tier", [["", "any"], ["tied", "tied"], ["potential", "potential"]])),
  field("compound", "Compound", select("compound", [["", "any"], ...cs.compounds.map((c) => [c.id, c.name])])),
  field("country", "Country", input("country", "text", { size: 3, maxlength: 2, placeholder: "KH" })),
  field("incident", "Incident", input("incident", "text", { size: 12 })),
  field("report", "Report id", input("report", "text", { size: 12 })),
  field("rule", "Rule", select("rule", [["", "any"], ["ip", "ip"], ["ip-drift", "ip-drift"], ["cidr", "cidr"], ["device", "device"], ["asn", "asn"]])),
  field("source", "Source", input("source", "text", { size: 12 })),
  field("asn", "AS", input("asn", "text", { size: 9, placeholder: "AS64500" })),
  field("review", "Review", select("review", [["", "any"], ["none", "not reviewed"], ["confirmed", "confirmed"], ["dismissed", "dismissed"]])),
  field("from", "From", input("from", "date")),
  field("to", "Before", input("to", "date")),
  field("sort", "Order", select("sort", [["", "oldest first"], ["newest", "newest first"], ["recent", "latest observation first"], ["tier", "tied first, then latest"]])),
  h("div", null, h("label", { for: "f-stale" }, "Stale reviews"), h("input", { id: "f-stale", name: "stale", type: "checkbox", value: "true", checked: q.stale === "true" })),
  h("div", null, h("label", { for: "f-withdrawn" }, "Withdrawn"), h("input", { id: "f-withdrawn", name: "withdrawn", type: "checkbox", value: "true", checked: q.withdrawn === "true" })),
  h("button", { type: "submit", class: "primary" }, "Apply"));
  const pager = pagerOf("#/findings", paging, res, cursor);
  const bottom = pager.cloneNode(true); // links need no listeners
  const exports = h("p", { class: "exports" }, "Download these findings (every page): ",
    ["csv", "parquet", "stix", "misp"].map((fmtName, i) => [i ? " · " : "", h("button", { type: "button", class: "link", "data-format": fmtName,
      onclick: (ev) => downloadExport(ev.currentTarget, q, fmtName) }, { csv: "CSV", parquet: "Parquet", stix: "STIX 2.1", misp: "MISP" }[fmtName])]));
  const sortCtl = { current: q.sort || "", href: (so) => "#/findings" + qs({ ...paging, sort: so }) };
  page("Findings", form, exports, pager, findingTable(res.findings, { names: nm, sort: sortCtl }), bottom);
  api("/api/findings" + qs({ ...q, sort: "", limit: 1, count: true })).then((c) => {
    for (const el of main.querySelectorAll(".total")) el.textContent = `${num(c.total)} findings match; ${res.findings.length} on this page.`;
  }).catch(() => {});
}

// downloadExport saves the findings a filter selects, every page of them,
// in a format (GET /api/findings/export), as a file.
async function downloadExport(btn, q, format) {
  btn.disabled = true;
  say(`Exporting as ${format}…`);
  try {
    const f = { ...q };
    delete f.cursor;
    const resp = await fetch("/api/findings/export" + qs({ ...f, format }), { headers: { Authorization: "Bearer " + sessionStorage.getItem(TOKEN_KEY) }, cache: "no-store", credentials: "omit" });
    if (!resp.ok) {
      let msg = resp.statusText;
      try { msg = (await resp.json()).error || msg; } catch { /* not JSON */ }
      throw new APIError(resp.status, msg);
    }
    const name = (/filename="([^"]+)"/.exec(resp.headers.get("Content-Disposition") || "") || [])[1] || "seams-findings." + format;
    const url = URL.createObjectURL(await resp.blob());
    const a = h("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    say(`${resp.headers.get("X-Seams-Findings") || "The"} findings were saved as ${name}.`);
  } catch (err) {
    say("The export failed: " + err.message, true);
  } finally {
    btn.disabled = false;
  }
}

// queue is the review queue: the findings nobody has reviewed, tied first
// and then the latest observation first, a page at a time; and the reviews
// a later run made stale (the finding changed after it was reviewed).
async function queue(params) {
  const cursor = params.get("cursor") || "";
  const q = { review: "none", sort: "tier" };
  const [res, stale, nm] = await Promise.all([
    api("/api/findings" + qs({ ...q, cursor, limit: 50, count: !cursor })),
    api("/api/findings" + qs({ stale: "true", limit: 100, count: true })),
    names()]);
  const base = { current: "tier", href: (so) => "#/findings" + qs({ review: "none", sort: so }) };
  page("Review queue",
    h("p", { class: "muted" }, "Findings nobody has reviewed, tied first, then the latest observation first. Open one to confirm or dismiss it."),
    h("h2", { id: "queue-h" }, "Not reviewed" + (res.total !== undefined ? ` (${num(res.total)})` : "")),
    pagerOf("#/queue", {}, res, cursor),
    findingTable(res.findings, { names: nm, sort: base, empty: "Every finding has been reviewed." }),
    h("h2", { id: "stale-h" }, `Reviews made stale by a later run (${num(stale.total)})`),
    h("p", { class: "muted" }, "The finding changed after it was reviewed: its mark still stands, but was given to an earlier version. Look again, and mark it anew."),
    findingTable(stale.findings, { names: nm, sort: { current: "", href: (so) => "#/findings" + qs({ stale: "true", sort: so }) }, empty: "No review is stale." }),
    stale.next ? h("p", null, link("#/findings" + qs({ stale: "true" }), "All stale reviews")) : null);
}

async function finding(id) {
  const d = await api("/api/findings/" + encodeURIComponent(id));
  const ev = d.evidence;
  const review = h("section", { class: "review", "aria-labelledby": "rev-h" },
    h("h2", { id: "rev-h" }, "Review"),
    h("p", null, "Current mark: ", markText(d.review), d.review.by ? ` by ${d.review.by}, ${when(d.review.at)}` : "",
      d.review.comment ? h("span", null, " — “", d.review.comment, "”") : ""));
  if (me.can.review && d.org === me.org) {
    const comment = h("textarea", { id: "comment", name: "comment", maxlength: 4096 });
    const mark = async (m) => {
      for (const b of review.querySelectorAll("button")) b.disabled = true;
      try {
        await api(`/api/findings/${d.id}/review`, { method: "POST", json: { mark: m, comment: comment.value } });
        await finding(id);
        say(m === "none" ? "Mark cleared." : "Marked " + m + ".");
      } catch (e) {
        say("Review failed: " + e.message, true);
        for (const b of review.querySelectorAll("button")) b.disabled = false;
      }
    };
    review.append(h("div", { class: "field" }, h("label", { for: "comment" }, "Comment (why; kept with the finding, not in the audit log)"), comment),
      h("div", { class: "buttons" },
        h("button", { type: "button", id: "confirm", class: "confirm", onclick: () => mark("confirmed") }, "Confirm"),
        h("button", { type: "button", id: "dismiss", class: "dismiss", onclick: () => mark("dismissed") }, "Dismiss"),
        d.review.mark !== "none" ? h("button", { type: "button", id: "clear", onclick: () => mark("none") }, "Clear mark") : null));
  } else {
    review.append(h("p", { class: "muted" }, me.can.review ? "Only the organisation of the report reviews its findings." : "Your role may not review findings."));
  }
  const r = d.report_detail;
  // The events and devices the evidence matched, highlighted in the
  // report's tables, with the rules that fired on each.
  const matchedIP = (e) => ev.filter((x) => x.observed.ip === e.ip && (x.observed.at || "") === (e.at || "")).map((x) => x.rule);
  const matchedDevice = (x) => ev.filter((y) => y.observed.device && y.observed.device === x.device && (y.observed.at || "") === (x.at || "")).map((y) => y.rule);
  page(`Finding #${d.id}: report ${d.report} and ${d.compound_detail.name}`,
    h("p", null, tierBadge(d.tier), " ", h("span", { class: "summary" }, d.summary)),
    h("h2", null, "Evidence"),
    h("ol", { class: "chain" }, d.explanation.map((t) => h("li", null, t))),
    review,
    h("div", { class: "grid2" },
      h("section", null, h("h2", null, "Report"),
        h("dl", { class: "facts" },
          h("dt", null, "Id"), h("dd", { class: "mono" }, r.id),
          h("dt", null, "Received"), h("dd", null, when(r.received) || "not given"),
          h("dt", null, "Incident"), h("dd", null, r.incident || "not given"),
          h("dt", null, "Organisation"), h("dd", null, r.org + (r.shared ? " (shared)" : "")),
          h("dt", null, "Stored from"), h("dd", null, `${r.file}:${r.line}, by ${r.loaded_by}`)),
        table([
          { key: "ip", label: "Address", value: (e) => e.ip, cell: (e) => h("span", { class: "mono" }, e.ip) },
          { key: "at", label: "At", value: (e) => e.at || "", cell: (e) => when(e.at) },
          { key: "event", label: "Event", value: (e) => e.event || "" },
          { key: "flags", label: "Flags", value: (e) => [e.proxy ? "proxy" : "", e.associated ? "associated account" : ""].filter(Boolean).join(", ") },
          { key: "matched", label: "Matched", value: (e) => matchedIP(e).join(", "), cell: (e) => (matchedIP(e).length ? h("strong", null, "matched: " + matchedIP(e).join(", ")) : "") },
        ], r.ips, { empty: "No IP events.", rowClass: (e) => (matchedIP(e).length ? "matched" : null) }),
        table([
          { key: "device", label: "Device", value: (x) => x.device, cell: (x) => h("span", { class: "mono" }, x.device) },
          { key: "at", label: "At", value: (x) => x.at || "", cell: (x) => when(x.at) },
          { key: "matched", label: "Matched", value: (x) => matchedDevice(x).join(", "), cell: (x) => (matchedDevice(x).length ? h("strong", null, "matched: " + matchedDevice(x).join(", ")) : "") },
        ], r.devices, { empty: "No devices.", rowClass: (x) => (matchedDevice(x).length ? "matched" : null) })),
      h("section", null, h("h2", null, "Compound"),
        h("p", null, compoundLink(d.compound, d.compound_detail.name), ` (${d.compound_detail.country}${d.compound_detail.status ? ", " + d.compound_detail.status : ""})`),
        h("h2", null, "Indicators behind it"),
        table([
          { key: "id", label: "Version", num: true, value: (i) => i.id },
          { key: "kind", label: "Kind", value: (i) => i.kind },
          { key: "value", label: "Value", value: (i) => i.value, cell: (i) => h("span", { class: "mono" }, i.value) },
          { key: "window", label: "Window", value: (i) => i.first_seen || "", cell: (i) => `${day(i.first_seen) || "open"} to ${day(i.last_seen) || "open"}` },
          { key: "source", label: "Source", value: (i) => i.source || "" },
          { key: "retired", label: "Retired", value: (i) => i.retired || "", cell: (i) => day(i.retired) || "active" },
          freshnessColumn,
        ], d.indicators))),
    h("h2", null, "History"),
    table([
      { key: "run", label: "Run", num: true, value: (v) => v.run },
      { key: "kind", label: "Change", value: (v) => v.kind },
      { key: "tier", label: "Tier", value: (v) => v.tier, cell: (v) => tierBadge(v.tier) },
      { key: "n", label: "Evidence", num: true, value: (v) => v.evidence.length },
    ], d.history),
    d.reviews.length ? [h("h2", null, "Reviews"), table([
      { key: "at", label: "At", value: (v) => v.at, cell: (v) => when(v.at) },
      { key: "mark", label: "Mark", value: (v) => v.mark },
      { key: "by", label: "By", value: (v) => v.by },
      { key: "comment", label: "Comment", value: (v) => v.comment || "" },
    ], d.reviews)] : null,
    h("p", { class: "muted" }, `${ev.length} ${ev.length === 1 ? "piece" : "pieces"} of evidence; finding version ${d.version}, made by run ${d.run}.`));
}

async function search(params) {
  const q = params.get("q") || "";
  document.getElementById("search-q").value = q;
  if (!q) return page("Search", h("p", null, "Type an address (203.0.113.7), a prefix (198.51.100.0/24), a device (imei:358240051111110) or a report id in the search box."));
  const res = await api("/api/search" + qs({ q }));
  const kinds = { ip: "address", prefix: "prefix", device: "device", report: "report id" };
  page(`Search: ${res.query}`,
    h("p", { class: "muted" }, `Searched as ${kinds[res.kind] || res.kind}.`),
    h("h2", null, `Reports (${res.reports.length}${res.more ? "+" : ""})`),
    table([
      { key: "id", label: "Report", value: (r) => r.id, cell: (r) => link("#/findings?report=" + encodeURIComponent(r.id), r.id) },
      { key: "received", label: "Received", value: (r) => r.received || "", cell: (r) => when(r.received) },
      { key: "incident", label: "Incident", value: (r) => r.incident || "" },
      { key: "org", label: "Organisation", value: (r) => r.org },
      { key: "ips", label: "IP events", num: true, value: (r) => r.ips.length },
      { key: "devices", label: "Devices", num: true, value: (r) => r.devices.length },
    ], res.reports, { empty: "No report." }),
    h("h2", null, `Findings (${res.findings.length})`), findingTable(res.findings, { names: await names() }),
    res.kind !== "report" ? [h("h2", null, `Indicators (${res.indicators.length})`), table([
      { key: "compound", label: "Compound", value: (i) => i.compound, cell: (i) => compoundLink(i.compound) },
      { key: "kind", label: "Kind", value: (i) => i.kind },
      { key: "value", label: "Value", value: (i) => i.value, cell: (i) => h("span", { class: "mono" }, i.value) },
      { key: "window", label: "Window", value: (i) => i.first_seen || "", cell: (i) => `${day(i.first_seen) || "open"} to ${day(i.last_seen) || "open"}` },
      { key: "source", label: "Source", value: (i) => i.source || "" },
    ], res.indicators, { empty: "No indicator." })] : null,
    res.shared.length ? h("p", null, "In shared address space: ", res.shared.join(", "), " (evidence from there never ties a report).") : null);
}

async function runs() {
  const res = await api("/api/runs" + qs({ limit: 50 }));
  const out = h("div");
  if (me.can.run) {
    const full = h("input", { type: "checkbox", id: "run-full" });
    const btn = h("button", { type: "button", class: "primary", id: "run-start", onclick: async () => {
      btn.disabled = true;
      say("Cross-referencing the store…");
      try {
        const run = await api("/api/runs", { method: "POST", json: { full: full.checked } });
        say(`Run #${run.id} done: ${run.scanned} reports matched, ${run.counts.new} new findings.`);
        await runs();
      } catch (e) {
        say("Run failed: " + e.message, true);
        btn.disabled = false;
      }
    } }, "Run a cross-reference");
    out.append(h("p", null, btn, " ", full, h("label", { for: "run-full" }, " match every report (retro-hunt), not only new ones")));
  }
  const cols = [
    { key: "id", label: "Run", num: true, value: (r) => r.id, cell: (r) => link("#/run/" + r.id, "#" + r.id) },
    { key: "finished", label: "Finished", value: (r) => r.finished, cell: (r) => when(r.finished) },
    { key: "by", label: "By", value: (r) => r.by },
    { key: "full", label: "Kind", value: (r) => (r.full ? "full" : "incremental") },
    { key: "scanned", label: "Reports", num: true, value: (r) => r.scanned },
    { key: "cap", label: "Cap", num: true, value: (r) => r.parameters.max_reports_per_indicator, cell: (r) => (r.parameters.max_reports_per_indicator ? num(r.parameters.max_reports_per_indicator) : "off") },
    { key: "over", label: "Over-correlated", num: true, value: (r) => r.over_correlated.length },
    { key: "databases", label: "Databases", value: (r) => r.parameters.databases.map((d) => `${d.role} ${d.built}`).join(", ") },
  ];
  for (const k of ["new", "upgraded", "downgraded", "withdrawn", "revised"]) cols.push({ key: k, label: k, num: true, value: (r) => r.counts[k] || 0 });
  out.append(table(cols, res.runs, { empty: "No run yet." }));
  page("Runs", out);
}

async function runChanges(id, params) {
  const cursor = params.get("cursor") || "";
  const res = await api(`/api/runs/${encodeURIComponent(id)}/changes` + qs({ cursor, limit: 200 }));
  page(`Run #${id}: what changed`, table([
    { key: "finding", label: "Finding", num: true, value: (c) => c.finding, cell: (c) => findingLink(c.finding) },
    { key: "report", label: "Report", value: (c) => c.report },
    { key: "compound", label: "Compound", value: (c) => c.compound, cell: (c) => compoundLink(c.compound) },
    { key: "kind", label: "Change", value: (c) => c.kind },
    { key: "from", label: "From", value: (c) => c.from },
    { key: "to", label: "To", value: (c) => c.to },
  ], res.changes), res.next ? link(`#/run/${id}?cursor=${encodeURIComponent(res.next)}`, "Next page") : null);
}

// sendFile posts a file with XMLHttpRequest, whose upload events give
// progress (fetch has none): progress(sent, total) while the body goes
// out, then progress(total, total, true) while the server stores it.
function sendFile(path, file, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Authorization", "Bearer " + sessionStorage.getItem(TOKEN_KEY));
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (e) => progress(e.loaded, e.lengthComputable ? e.total : file.size, false));
    xhr.upload.addEventListener("load", () => progress(file.size, file.size, true));
    xhr.addEventListener("load", () => {
      const body = xhr.response;
      if (xhr.status >= 200 && xhr.status < 300) return resolve(body);
      const msg = (body && body.error) || xhr.statusText || "status " + xhr.status;
      if (xhr.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        me = null;
        showLogin("Your token was refused (" + msg + "). Log in again.");
      }
      reject(new APIError(xhr.status, msg));
    });
    xhr.addEventListener("error", () => reject(new APIError(0, "the connection to the server failed")));
    xhr.send(file);
  });
}

function upload() {
  if (!me.can.upload) return page("Upload", h("p", null, "Your role may not upload files."));
  const kinds = [["reports", "Reports (JSON Lines, CyberTipline XML or CSV)"], ["indicators", "Indicators (CSV, STIX 2.1 bundle or MISP events)"], ["compounds", "Compounds (CSV, FollowTheMoney entities)"]];
  if (me.can.admin) kinds.push(["shared", "Shared address space (a list, one address or prefix a line, or a MISP warninglist)"]);
  const result = h("div", { "aria-live": "polite", id: "up-result" });
  const bar = h("progress", { id: "up-progress", max: 100, value: 0, hidden: true });
  const barText = h("span", { id: "up-progress-text", class: "muted" });
  const file = h("input", { type: "file", id: "up-file", required: true });
  const name = h("input", { type: "text", id: "up-name", required: true, size: 30 });
  const submit = h("button", { type: "submit", class: "primary", id: "up-submit" }, "Upload");
  file.addEventListener("change", () => { if (file.files[0]) name.value = file.files[0].name; });
  const form = h("form", { onsubmit: async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    const f = file.files[0];
    if (!f) return;
    submit.disabled = true;
    bar.hidden = false;
    bar.value = 0;
    result.replaceChildren();
    const run = !!data.get("run");
    say(`Uploading ${name.value} (${num(f.size)} bytes)…`);
    try {
      const res = await sendFile(`/api/upload/${data.get("kind")}` + qs({ name: name.value, shared: data.get("shared") ? "true" : "", run: run ? "true" : "" }), f,
        (sent, total, done) => {
          bar.value = total ? Math.round((sent / total) * 100) : 100;
          barText.textContent = done ? ` ${name.value}: sent; the server is storing it${run ? " and will then cross-reference the store" : ""}…`
            : ` ${num(sent)} of ${num(total)} bytes sent`;
        });
      barText.textContent = ` ${res.name}: stored.`;
      say(`${res.name}: ${num(res.read)} records read, ${num(res.new)} new, ${num(res.unchanged)} already stored, ${num(res.rejected)} rejected.` +
        (res.run ? ` Run #${res.run.id}: ${num(res.run.scanned)} reports matched, ${num(res.run.counts.new)} new findings.` : "") +
        (res.run_error ? ` The run did not happen: ${res.run_error}` : ""), !!res.run_error);
      result.replaceChildren(h("h2", null, "Result"),
        h("dl", { class: "facts" }, ["read", "new", "updated", "unchanged", "retired", "rejected", "parts_rejected", "compounds_new"].map((k) => [h("dt", null, k.replace("_", " ")), h("dd", null, num(res[k]))])),
        res.rejections.length ? table([
          { key: "line", label: "Line", num: true, value: (r) => r.line || 0, cell: (r) => `${r.file}:${r.line || "?"}` },
          { key: "item", label: "Item", value: (r) => r.item || "" },
          { key: "reason", label: "Reason", value: (r) => r.reason },
        ], res.rejections, { caption: res.rejections_omitted ? `and ${res.rejections_omitted} more` : null }) : null,
        res.run ? h("p", { id: "up-run-result" }, "Cross-referenced: ", link("#/run/" + res.run.id, `run #${res.run.id}`), `, ${num(res.run.scanned)} reports matched, ${num(res.run.counts.new)} new findings.`)
          : res.run_error ? h("p", { class: "bad" }, "Stored, but not cross-referenced: " + res.run_error)
          : me.can.run ? h("p", null, link("#/runs", "Run a cross-reference"), " to match what was stored.") : null);
    } catch (err) {
      barText.textContent = "";
      bar.hidden = true;
      // The server's message names the file; say it whatever it says.
      const msg = err.message.includes(name.value) ? err.message : `${name.value}: ${err.message}`;
      say("Upload failed: " + msg, true);
      result.replaceChildren(h("p", { class: "bad", id: "up-error" }, msg));
    } finally {
      submit.disabled = false;
    }
  } },
  h("div", { class: "field" }, h("label", { for: "up-kind" }, "What the file holds"),
    h("select", { id: "up-kind", name: "kind" }, kinds.map(([v, t]) => h("option", { value: v }, t)))),
  h("div", { class: "field" }, h("label", { for: "up-file" }, "File (gzip or zstd compressed, or not; the format is recognised from its content)"), file),
  h("div", { class: "field" }, h("label", { for: "up-name" }, "Name in the store (an indicator file of the same name is replaced by this version)"), name),
  h("div", { class: "field" }, h("input", { type: "checkbox", id: "up-shared", name: "shared", value: "true" }), h("label", { for: "up-shared" }, " share with the other organisations (indicators and reports)")),
  me.can.run ? h("div", { class: "field" }, h("input", { type: "checkbox", id: "up-run", name: "run", value: "true" }), h("label", { for: "up-run" }, " cross-reference the store when the file is stored")) : null,
  h("p", null, submit, " ", bar, barText));
  page("Upload", form, result);
}

async function admin() {
  if (!me.can.admin) return page("Admin", h("p", null, "Your role is not admin."));
  // The organisation's last 50 entries, asked of the server (which keeps
  // an admin to its organisation's entries). The chain is verified only
  // when asked ("Verify now"): a walk of the whole log is too dear for
  // every visit. A listing that fails says why, never "Nothing to show".
  const [toks, audit] = await Promise.all([api("/api/tokens"),
    api("/api/audit" + qs({ latest: "true", limit: 50 })).catch((e) => {
      if (e instanceof StaleError || e.status === 401) throw e;
      return { error: e.message };
    })]);
  const verdict = h("div", { id: "verify-result", "aria-live": "polite" },
    h("p", { class: "muted" }, "The chain of the audit log has not been verified on this page."));
  // "Verify now" walks the chain from the last verified checkpoint and
  // cross-checks the audited objects; "Verify the whole chain" starts from
  // the first entry (an edit before a checkpoint is found only so).
  const verify = async (full) => {
    verifyBtn.disabled = verifyFullBtn.disabled = true;
    verdict.replaceChildren(h("p", { class: "muted" }, "Verifying the chain…"));
    try {
      const v = await api("/api/audit/verify" + (full ? qs({ full: "true" }) : ""), { method: "GET" });
      const span = v.ok && v.from > 0 ? ` (entries after checkpoint ${num(v.from)}: ${num(v.checked)} recomputed)` : "";
      verdict.replaceChildren(v.ok
        ? h("p", { class: "ok" }, `The chain verifies: ${num(v.seq)} entries${span}, head ${v.hash.slice(0, 16)}… (${v.took}). Keep the head elsewhere to catch a rewrite of the whole log.`)
        : h("p", { class: "bad" }, "The audit log does not verify: " + v.error));
    } catch (err) {
      if (!(err instanceof StaleError)) verdict.replaceChildren(h("p", { class: "bad" }, "The chain could not be verified: " + err.message));
    } finally {
      verifyBtn.disabled = verifyFullBtn.disabled = false;
    }
  };
  const verifyBtn = h("button", { type: "button", id: "verify", onclick: () => verify(false) }, "Verify now");
  const verifyFullBtn = h("button", { type: "button", id: "verify-full", onclick: () => verify(true) }, "Verify the whole chain");
  const secretOut = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "filters", onsubmit: async (e) => {
    e.preventDefault();
    const data = new FormData(form);
    try {
      const res = await api("/api/tokens", { method: "POST", json: { role: data.get("role"), user: data.get("user"), label: data.get("label"), expires_in: data.get("expires") } });
      await admin();
      say(`Token ${res.token.id} created.`);
      main.prepend(h("div", { class: "review" }, h("p", null, "Secret of ", h("span", { class: "mono" }, res.token.id), " — shown once, copy it now:"), h("p", { class: "secret", id: "new-secret" }, res.secret)));
    } catch (err) {
      say("Token not created: " + err.message, true);
    }
  } },
  h("div", null, h("label", { for: "t-role" }, "Role"), h("select", { id: "t-role", name: "role" }, ["viewer", "analyst", "admin"].map((r) => h("option", { value: r }, r)))),
  h("div", null, h("label", { for: "t-user" }, "User"), h("input", { id: "t-user", name: "user", type: "text", size: 14 })),
  h("div", null, h("label", { for: "t-label" }, "Label"), h("input", { id: "t-label", name: "label", type: "text", size: 18 })),
  h("div", null, h("label", { for: "t-exp" }, "Expires in"), h("input", { id: "t-exp", name: "expires", type: "text", size: 6, placeholder: "90d" })),
  h("button", { type: "submit", class: "primary" }, "Create token"));
  page("Admin",
    h("h2", null, "Audit log"),
    h("p", null, verifyBtn, " ", verifyFullBtn, " ", h("span", { class: "muted" }, "from the last verified checkpoint, or from the first entry")), verdict,
    audit.error ? h("p", { class: "bad", id: "audit-error" }, "The audit log could not be listed: " + audit.error) : table([
      { key: "seq", label: "Seq", num: true, value: (e) => e.seq },
      { key: "at", label: "At", value: (e) => e.at, cell: (e) => when(e.at) },
      { key: "actor", label: "Actor", value: (e) => e.actor },
      { key: "action", label: "Action", value: (e) => e.action },
      { key: "object", label: "Object", value: (e) => e.object },
      { key: "detail", label: "Detail", value: (e) => e.detail || "" },
    ], audit.entries, { sortKey: "seq", sortDir: -1, caption: "The latest 50 entries of your organisation.", empty: "Your organisation has no audit entry yet." }),
    h("h2", null, "Tokens of " + me.org), form, secretOut,
    table([
      { key: "id", label: "Token", value: (t) => t.id, cell: (t) => h("span", { class: "mono" }, t.id) },
      { key: "user", label: "User", value: (t) => t.user || "" },
      { key: "role", label: "Role", value: (t) => t.role },
      { key: "label", label: "Label", value: (t) => t.label || "" },
      { key: "created", label: "Created", value: (t) => t.created, cell: (t) => day(t.created) },
      { key: "state", label: "State", value: tokenState, cell: (t) => h("span", { class: t.revoked || t.expired ? "bad" : null }, tokenState(t)) },
      { key: "act", label: "", cell: (t) => t.revoked || t.id === me.token ? "" : h("button", { type: "button", onclick: async () => {
        if (!confirm(`Revoke ${t.id}?`)) return;
        try { await api("/api/tokens/" + encodeURIComponent(t.id), { method: "DELETE" }); await admin(); say(`Token ${t.id} revoked.`); } catch (err) { say(err.message, true); }
      } }, "Revoke") },
    ], toks.tokens));
}

// tokenState says whether a token works: revoked, expired (the server
// says so, by its clock), or active until its expiry.
function tokenState(t) {
  if (t.revoked) return "revoked " + day(t.revoked);
  if (t.expired) return "expired " + day(t.expires);
  return t.expires ? "active, expires " + day(t.expires) : "active";
}

// ---- login and routing -------------------------------------------------

function showLogin(message) {
  for (const id of ["nav", "search", "who"]) document.getElementById(id).hidden = true;
  const input = h("input", { id: "token", type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const form = h("form", { class: "login", onsubmit: async (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    try {
      me = await api("/api/me");
      say("");
      enter();
    } catch (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      say("Log in failed: " + err.message, true);
    }
  } },
  h("h1", null, "Log in"),
  h("p", null, "Paste an API token (", h("code", null, "seams token create"), " makes one). It is kept in this tab only, and sent only to this server."),
  h("div", { class: "field" }, h("label", { for: "token" }, "API token"), input),
  h("button", { type: "submit", class: "primary", id: "login" }, "Log in"));
  main.replaceChildren(form);
  document.title = "Log in · seams";
  say(message || "", !!message);
  input.focus();
}

function enter() {
  document.getElementById("nav").hidden = false;
  document.getElementById("search").hidden = false;
  document.getElementById("who").hidden = false;
  document.getElementById("who-text").textContent = `${me.user || me.token} · ${me.org} · ${me.role}`;
  for (const a of document.querySelectorAll("#nav [data-can]")) a.hidden = !me.can[a.dataset.can];
  route();
}

async function route() {
  if (!me) return;
  const hash = location.hash.slice(1) || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  for (const a of document.querySelectorAll("#nav a")) {
    const target = a.getAttribute("href").slice(1);
    a.toggleAttribute("aria-current", target === "/" + (parts[0] || "") || (target === "/" && !parts.length));
    if (a.hasAttribute("aria-current")) a.setAttribute("aria-current", "page");
  }
  navAbort.abort();
  navAbort = new AbortController();
  const seq = ++navSeq;
  say("Loading…");
  try {
    switch (parts[0]) {
      case undefined: await overview(); break;
      case "compounds": await compounds(); break;
      case "compound": await compound(parts[1]); break;
      case "findings": await findings(params); break;
      case "queue": await queue(params); break;
      case "finding": await finding(parts[1]); break;
      case "search": await search(params); break;
      case "runs": await runs(); break;
      case "run": await runChanges(parts[1], params); break;
      case "upload": upload(); break;
      case "admin": await admin(); break;
      default: page("Not found", h("p", null, "No such page. ", link("#/", "Overview")));
    }
    if (seq === navSeq && statusLine.textContent === "Loading…") say("");
  } catch (e) {
    if (e instanceof StaleError || seq !== navSeq) {
      dropped();
      return;
    }
    if (e.status !== 401) {
      say(e.message, true);
      page("Something went wrong", h("p", null, e.message));
    }
  }
}

document.getElementById("search").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("search-q").value.trim();
  if (q) location.hash = "#/search" + qs({ q });
});
document.getElementById("logout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  me = null;
  showLogin("Logged out.");
});
window.addEventListener("hashchange", route);
// The skip link moves the focus to the page's content. Its href (#main)
// works without script; with it, following it would change the hash and
// so the route, to a page that does not exist.
document.querySelector("a.skip").addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
  main.scrollIntoView();
});

(async function start() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return showLogin();
  try {
    me = await api("/api/me");
    enter();
  } catch (e) {
    if (e.status !== 401) showLogin("Could not reach the server: " + e.message);
  }
})();
