// make-region.mjs writes ../region.json, the offline base map of the
// dashboard: the countries of mainland South-East Asia and their
// neighbours, clipped to the region and simplified, from Natural Earth's
// 1:50m admin-0 boundaries as packaged in world-atlas@2.0.2 (TopoJSON).
//
// It is run by hand, once, not at build time:
//   cd "$(mktemp -d)" && npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
//   node /path/to/server/ui/tools/make-region.mjs package/countries-50m.json > /path/to/server/ui/region.json
// No package is installed: TopoJSON is decoded here (quantized,
// delta-encoded arcs; negative indices are reversed arcs).
import { readFileSync } from "node:fs";

const bbox = [88, 0, 112, 29]; // lon min, lat min, lon max, lat max
const tolerance = 0.03; // degrees, Douglas-Peucker
// ISO 3166-1 numeric (world-atlas ids) to alpha-2, for the countries that
// can fall in the box; others are dropped.
const alpha2 = {
  "050": "BD", "064": "BT", "096": "BN", "104": "MM", "116": "KH", "156": "CN", "356": "IN",
  "360": "ID", "418": "LA", "458": "MY", "524": "NP", "608": "PH", "702": "SG", "704": "VN",
  "764": "TH", "158": "TW", "144": "LK",
};

const topo = JSON.parse(readFileSync(process.argv[2], "utf8"));
const [sx, sy] = topo.transform.scale;
const [tx, ty] = topo.transform.translate;
const arcs = topo.arcs.map((arc) => {
  let x = 0, y = 0;
  return arc.map(([dx, dy]) => { x += dx; y += dy; return [x * sx + tx, y * sy + ty]; });
});

function ring(indices) {
  const out = [];
  for (const i of indices) {
    const a = i < 0 ? arcs[~i].slice().reverse() : arcs[i];
    for (let k = out.length ? 1 : 0; k < a.length; k++) out.push(a[k]);
  }
  return out;
}

// Sutherland-Hodgman against each side of the box.
function clip(points) {
  const sides = [
    (p) => p[0] >= bbox[0], (p) => p[0] <= bbox[2], (p) => p[1] >= bbox[1], (p) => p[1] <= bbox[3],
  ];
  const cross = [
    (a, b) => at(a, b, 0, bbox[0]), (a, b) => at(a, b, 0, bbox[2]),
    (a, b) => at(a, b, 1, bbox[1]), (a, b) => at(a, b, 1, bbox[3]),
  ];
  let pts = points;
  for (let s = 0; s < 4 && pts.length; s++) {
    const next = [];
    for (let i = 0; i < pts.length; i++) {
      const cur = pts[i], prev = pts[(i + pts.length - 1) % pts.length];
      const inCur = sides[s](cur), inPrev = sides[s](prev);
      if (inCur) {
        if (!inPrev) next.push(cross[s](prev, cur));
        next.push(cur);
      } else if (inPrev) {
        next.push(cross[s](prev, cur));
      }
    }
    pts = next;
  }
  return pts;
}

function at(a, b, axis, v) {
  const t = (v - a[axis]) / (b[axis] - a[axis]);
  const p = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
  p[axis] = v;
  return p;
}

function simplify(pts) {
  if (pts.length < 4) return pts;
  const keep = new Uint8Array(pts.length);
  keep[0] = keep[pts.length - 1] = 1;
  const stack = [[0, pts.length - 1]];
  while (stack.length) {
    const [i, j] = stack.pop();
    let best = -1, dmax = 0;
    for (let k = i + 1; k < j; k++) {
      const d = distance(pts[k], pts[i], pts[j]);
      if (d > dmax) { dmax = d; best = k; }
    }
    if (dmax > tolerance) {
      keep[best] = 1;
      stack.push([i, best], [best, j]);
    }
  }
  return pts.filter((_, k) => keep[k]);
}

function distance(p, a, b) {
  const dx = b[0] - a[0], dy = b[1] - a[1];
  const len = Math.hypot(dx, dy);
  if (len === 0) return Math.hypot(p[0] - a[0], p[1] - a[1]);
  return Math.abs(dy * p[0] - dx * p[1] + b[0] * a[1] - b[1] * a[0]) / len;
}

const round = (v) => Math.round(v * 100) / 100;
const countries = [];
for (const g of topo.objects.countries.geometries) {
  const iso = alpha2[g.id];
  if (!iso) continue;
  const polys = g.type === "Polygon" ? [g.arcs] : g.type === "MultiPolygon" ? g.arcs : [];
  const rings = [];
  for (const poly of polys) {
    for (const r of poly) {
      const pts = simplify(clip(ring(r))).map(([x, y]) => [round(x), round(y)]);
      if (pts.length >= 4) rings.push(pts);
    }
  }
  if (rings.length) countries.push({ iso, name: g.properties.name, rings });
}
countries.sort((a, b) => a.iso.localeCompare(b.iso));
process.stdout.write(JSON.stringify({
  source: "Natural Earth 1:50m admin-0 countries (public domain), via world-atlas@2.0.2; clipped and simplified by server/ui/tools/make-region.mjs",
  bbox,
  countries,
}) + "\n");
