// throwaway: processing-only CPU profile of scenario 3 for one backend (not committed)
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { execSync } from 'node:child_process';
const pgcpu = () => Number(execSync('/tmp/prof/pgcpu.sh').toString().trim()) * 10_000;
import { systemById } from '../src/systems/index.js';
import { newNamespace, withRedis, withPg } from '../src/services.js';
import { makePayloads } from '../src/payload.js';
import { CompletionTracker } from '../src/scenarios/common.js';
import { now } from '../src/time.js';
import pg from 'pg';
const counts = new Map<string, number>(); let counting = false;
const orig = pg.Client.prototype.query as (...a: unknown[]) => unknown;
(pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown }).query = function (this: unknown, ...a: unknown[]) { if (counting) { const q = a[0] as string | { text?: string; name?: string }; const t = (typeof q === 'string' ? q : (q?.name ?? q?.text ?? '?')).replace(/\s+/g, ' ').slice(0, 90); counts.set(t, (counts.get(t) ?? 0) + 1); } return orig.apply(this, a); };
const [id, nStr, out] = process.argv.slice(2);
const n = Number(nStr);
const sys = systemById(id!);
await sys.probe();
for (const round of [0, 1]) {
  const ns = newNamespace();
  const inst = await sys.open(ns, { concurrency: 50 });
  const c0 = pgcpu();
  for (let i = 0; i < n; i += 1000) await inst.enqueueBatch(makePayloads(i, Math.min(1000, n - i)));
  const c1 = pgcpu();
  if (process.env.STATS && round === 1) await withRedis(async (r) => { await r.config('RESETSTAT'); });
  const s = new Session(); s.connect();
  if (round === 1 && process.env.HEAP) { await s.post('HeapProfiler.enable'); await s.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }); } else if (round === 1) { await s.post('Profiler.enable'); await s.post('Profiler.start'); }
  counting = round === 1 && !!process.env.QC;
  const tr = new CompletionTracker(n);
  const t0 = now();
  await inst.startWorker(async () => undefined, tr.onCompleted);
  await tr.wait(inst, now() + 120_000);
  const dt = now() - t0;
  const c2 = pgcpu();
  if (counting) { counting = false; for (const [k, v] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 15)) process.stderr.write(`${(v / n).toFixed(3)}/task  ${k}\n`); }
  if (round === 1) process.stderr.write(`pg CPU µs/task: enqueue ${((c1 - c0) / n).toFixed(1)}, process ${((c2 - c1) / n).toFixed(1)}\n`);
  if (round === 1 && process.env.HEAP) { const { profile } = await s.post('HeapProfiler.stopSampling'); writeFileSync(out!, JSON.stringify(profile)); } else if (round === 1) { const { profile } = await s.post('Profiler.stop'); writeFileSync(out!, JSON.stringify(profile)); }
  process.stderr.write(`${id} round ${round}: ${Math.round(n / (dt / 1000))} jobs/s\n`);
  if (process.env.STATS && round === 1) await withRedis(async (r) => { const txt = await r.info('commandstats'); let tot = 0; const lines: string[] = []; for (const l of txt.split('\n')) { const m = /cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(l); if (m) { tot += Number(m[3]); lines.push(`${m[1]} ${(Number(m[2]) / n).toFixed(2)}/job ${(Number(m[3]) / n).toFixed(1)}us/job`); } } process.stderr.write(lines.join('\n') + `\nTOTAL ${(tot / n).toFixed(1)} us/job\n`); });
  if (process.env.TUP && round === 1) { await new Promise((r) => setTimeout(r, 1500)); await withPg(async (c) => { const { rows } = await c.query(`select relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del from pg_stat_user_tables where schemaname = $1 and (n_tup_ins + n_tup_upd + n_tup_del) > 0`, [ns]); for (const r of rows) process.stderr.write(`${r.relname}: ins ${(r.n_tup_ins / n).toFixed(2)} upd ${(r.n_tup_upd / n).toFixed(2)} (hot ${(r.n_tup_hot_upd / n).toFixed(2)}) del ${(r.n_tup_del / n).toFixed(2)} per task\n`); const ix = await c.query(`select count(*)::int as n from pg_indexes where schemaname = $1`, [ns]); process.stderr.write(`indexes in schema: ${ix.rows[0].n}\n`); }); }
  await inst.close(); await sys.destroy(ns);
}
process.exit(0);
