// Runs bench/baseline.sql in DuckDB (the @duckdb/node-api package, which
// bench/run installs into a cache folder) on a data set written by
// `seams gen`, and prints its counts as JSON on standard output.
//
// usage: node duckdb.mjs DIR [DRIFT_HOURS [SQL_FILE]]   (SQL_FILE default baseline.sql)
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.argv[2];
const driftNs = BigInt(process.argv[3] ?? '2160') * 3600n * 1000000000n;
const here = dirname(fileURLToPath(import.meta.url));
const sqlFile = process.argv[4] ?? 'baseline.sql';

// The shared-space list, as IPv4 ranges (gen writes IPv4 prefixes only).
const ip4 = (s) => s.split('.').reduce((n, p) => n * 256 + Number(p), 0);
const ranges = ['100.64.0.0/10'];
for (const line of readFileSync(join(dir, 'shared.txt'), 'utf8').split('\n')) {
  const t = line.replace(/#.*/, '').trim();
  if (t) ranges.push(t.includes('/') ? t : t + '/32');
}
const shared = ranges.map((p) => {
  const [a, bits] = p.split('/');
  const lo = ip4(a);
  return `(${lo}, ${lo + 2 ** (32 - Number(bits)) - 1})`;
}).join(', ');

const sql = ['load.sql', sqlFile, 'count.sql'].map((f) => readFileSync(join(here, f), 'utf8')).join('\n')
  .replaceAll('${REPORTS}', join(dir, 'reports.jsonl'))
  .replaceAll('${INDICATORS}', join(dir, 'indicators.csv'))
  .replaceAll('${SHARED}', shared)
  .replaceAll('${DRIFT_NS}', String(driftNs));

const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const statements = sql.split(/;\s*\n/).map((s) => s.replace(/^\s*--.*$/gm, '').trim()).filter(Boolean);
let rows;
for (const s of statements) {
  rows = (await conn.runAndReadAll(s)).getRowObjectsJson();
}
console.log(JSON.stringify(rows[0]));
