// The issue's targets, checked against the rows of one run (ratios within the same run).
import type { BenchConfig } from './config.js';
import type { Row } from './runner.js';
import type { ScenarioId } from './systems/types.js';

export interface TargetResult {
  target: string;
  measured: string;
  state: 'met' | 'missed' | 'not measured';
}

interface Value {
  v: number;
  partial: boolean;
}

function value(rows: Row[], scenario: ScenarioId, system: string, metric: string): Value | null {
  const r = rows.find((x) => x.scenario === scenario && x.system === system);
  if (!r || (r.status !== 'ok' && r.status !== 'timeout')) return null;
  const a = r.agg[metric];
  return a ? { v: a.median, partial: r.status === 'timeout' } : null;
}

const fmt = (v: number, digits = 2) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(digits));
const p = (x: Value) => (x.partial ? ' (partial: hit the time budget)' : '');

function ratioTarget(rows: Row[], s: ScenarioId, metric: string, baton: string, peers: string[], min: number, label: string): TargetResult {
  const b = value(rows, s, baton, metric);
  const ps = peers.map((id) => ({ id, v: value(rows, s, id, metric) })).filter((x): x is { id: string; v: Value } => x.v !== null);
  if (!b || ps.length === 0) return { target: label, measured: 'not measured (a side is missing)', state: 'not measured' };
  const best = ps.reduce((a, c) => (c.v.v > a.v.v ? c : a));
  const ratio = b.v / best.v.v;
  return {
    target: label,
    measured: `${fmt(b.v)} vs ${best.id} ${fmt(best.v.v)}${p(best.v)} → ${ratio.toFixed(2)}×`,
    state: ratio >= min ? 'met' : 'missed',
  };
}

function latencyTarget(rows: Row[], baton: string, peer: string, factor: number, label: string): TargetResult {
  const b = value(rows, 4, baton, 'p50');
  const q = value(rows, 4, peer, 'p50');
  if (!b || !q) return { target: label, measured: 'not measured (a side is missing)', state: 'not measured' };
  return { target: label, measured: `p50 ${fmt(b.v)} ms vs ${peer} ${fmt(q.v)} ms${p(q)} → ${(b.v / q.v).toFixed(2)}×`, state: b.v <= q.v * factor ? 'met' : 'missed' };
}

function absTarget(rows: Row[], s: ScenarioId, system: string, metric: string, unit: string, ok: (v: number) => boolean, label: string): TargetResult {
  const b = value(rows, s, system, metric);
  if (!b) return { target: label, measured: 'not measured', state: 'not measured' };
  return { target: label, measured: `${fmt(b.v)} ${unit}${p(b)}`, state: ok(b.v) && !b.partial ? 'met' : 'missed' };
}

// The Postgres peers the Postgres targets take the best of.
const PG_PEERS = ['pg-boss', 'graphile-worker', 'bullmq-postgres'];

// Every Baton backend: the per-backend targets below (recovery, memory plateau, overhead) cover each.
const BATON = ['memory', 'sqlite', 'redis', 'postgres', 'mysql', 'production', 'nats'];

export function checkTargets(rows: Row[], config: BenchConfig): TargetResult[] {
  const stall = config.stallTimeoutMs / 1000;
  const out: TargetResult[] = [
    ratioTarget(rows, 3, 'jobs/s', 'redis', ['bullmq'], 2, 'Redis adapter ≥ 2× BullMQ on scenario 3'),
    ratioTarget(rows, 1, 'jobs/s', 'redis', ['bullmq'], 1.5, 'Redis adapter ≥ 1.5× BullMQ on scenario 1'),
    ratioTarget(rows, 1, 'jobs/s', 'redis', ['bullmq'], 1, 'Redis adapter ≥ 1× BullMQ on scenario 1 (queues and routing)'),
    ratioTarget(rows, 2, 'jobs/s', 'redis', ['bullmq'], 1.5, 'Redis adapter ≥ 1.5× BullMQ on scenario 2'),
    latencyTarget(rows, 'redis', 'bullmq', 1, "Redis adapter p50 latency ≤ BullMQ's"),
    ratioTarget(rows, 3, 'jobs/s', 'postgres', PG_PEERS, 1.5, 'Postgres adapter ≥ 1.5× the best Postgres peer on scenario 3'),
    ratioTarget(rows, 2, 'jobs/s', 'postgres', PG_PEERS, 1, 'Postgres adapter ≥ 1× the best Postgres peer on scenario 2'),
    ratioTarget(rows, 1, 'jobs/s', 'postgres', PG_PEERS, 1.5, 'Postgres adapter ≥ 1.5× the best Postgres peer on scenario 1'),
    latencyTarget(rows, 'postgres', 'graphile-worker', 0.5, "Postgres adapter p50 latency ≤ half of graphile-worker's"),
    ratioTarget(rows, 3, 'jobs/s', 'production', ['graphile-worker'], 1, 'Production preset ≥ 1× graphile-worker on scenario 3'),
    ratioTarget(rows, 3, 'jobs/s', 'production', ['bullmq'], 1, 'Production preset ≥ 1× BullMQ on scenario 3'),
    latencyTarget(rows, 'production', 'bullmq', 2, "Production preset p50 latency ≤ 2× BullMQ's"),
    absTarget(rows, 3, 'memory', 'jobs/s', 'jobs/s', (v) => v >= 200_000, 'Memory adapter ≥ 200,000 jobs/s on scenario 3'),
    absTarget(rows, 3, 'sqlite', 'jobs/s', 'jobs/s', (v) => v >= 15_000, 'SQLite ≥ 15,000 jobs/s on scenario 3'),
    absTarget(rows, 5, 'redis', 'p50', 'ms', (v) => v <= 1, 'Checkpoint p50 ≤ 1 ms on Redis'),
    absTarget(rows, 5, 'sqlite', 'p50', 'ms', (v) => v <= 1, 'Checkpoint p50 ≤ 1 ms on SQLite'),
    absTarget(rows, 5, 'postgres', 'p50', 'ms', (v) => v <= 3, 'Checkpoint p50 ≤ 3 ms on Postgres'),
  ];
  for (const id of BATON) {
    const row = rows.find((r) => r.scenario === 6 && r.system === id);
    if (!row || row.status === 'n/a') continue;
    out.push(absTarget(rows, 6, id, 'recovery', 's', (v) => v <= stall + 2, `Recovery ≤ stall timeout + 2 s (${stall + 2} s) on ${id}`));
  }
  for (const id of BATON) {
    const row = rows.find((r) => r.scenario === 7 && r.system === id);
    if (!row || (row.status !== 'ok' && row.status !== 'timeout')) continue;
    const rss = row.agg['rss growth']?.median;
    const be = row.agg['backend growth']?.median;
    const rec = row.agg['records growth']?.median;
    const flat = (v: number | undefined) => v === undefined || !Number.isFinite(v) || v <= 10;
    const pct = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : `${fmt(v, 1)} %`);
    out.push({
      target: `Memory plateaus on ${id} (RSS and backend size grow ≤ 10 % over the second half)`,
      measured: `RSS ${pct(rss)}, backend size ${pct(be)}${rec === undefined ? '' : `, live records ${pct(rec)}`} over ${fmt(row.agg.processed?.median ?? 0)} tasks`,
      state: row.status === 'ok' && flat(rss) && flat(be) ? 'met' : 'missed',
    });
  }
  // Scenario 8's routing is correctness, not speed: one row over every system measured, from
  // every run (a run that hit its budget counts too).
  const routed = rows.filter((r) => r.scenario === 8 && r.runs.length > 0);
  if (routed.length > 0) {
    const bad = routed.map((r) => ({ id: r.system, n: r.runs.reduce((a, x) => a + (x.metrics.violations ?? 0), 0) })).filter((x) => x.n > 0);
    out.push({
      target: 'Scenario 8: no job runs on a worker that does not serve its queue (every system)',
      measured: bad.length === 0 ? `0 violations on ${routed.length} system${routed.length === 1 ? '' : 's'}` : bad.map((x) => `${x.id}: ${x.n}`).join(', '),
      state: bad.length === 0 ? 'met' : 'missed',
    });
  }
  // Instrumentation overhead (issue 16), where --instrument ran the variants: on scenario 3, the
  // throughput lost against the same backend uninstrumented (same rounds), and the CPU added per
  // job — the steadier of the two on a shared machine, shown beside it.
  for (const id of BATON) {
    for (const [mode, max, what] of [['noop', 10, 'no-op tracer provider'], ['sdk', 25, 'real SDK, batch exporter']] as const) {
      const base = value(rows, 3, id, 'jobs/s');
      const inst = value(rows, 3, `${id}+${mode}`, 'jobs/s');
      if (!base || !inst) continue;
      const overhead = (1 - inst.v / base.v) * 100;
      const cpuBase = value(rows, 3, id, 'cpu µs/job');
      const cpuInst = value(rows, 3, `${id}+${mode}`, 'cpu µs/job');
      const cpu = cpuBase && cpuInst ? `; CPU ${fmt(cpuInst.v, 1)} vs ${fmt(cpuBase.v, 1)} µs/job → +${((cpuInst.v / cpuBase.v - 1) * 100).toFixed(1)} %` : '';
      out.push({
        target: `@baton/otel overhead ≤ ${max} % on ${id}, scenario 3 (${what})`,
        measured: `${fmt(inst.v)} vs ${fmt(base.v)} jobs/s uninstrumented → ${overhead.toFixed(1)} %${cpu}${p(inst)}${p(base)}`,
        state: overhead <= max && !inst.partial && !base.partial ? 'met' : 'missed',
      });
    }
  }
  return out;
}
