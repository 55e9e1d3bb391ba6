// Runs one scenario for a set of systems: probe and warm-up (untimed) each, then the timed runs in
// rounds — run 1 of every system, then run 2 of every system, … — each on a fresh namespace and
// cleaned up after. On a machine whose speed drifts (shared cores), rounds keep the systems being
// compared side by side in time, so drift moves their medians together instead of skewing ratios.
// Never throws: every outcome (not built, n/a, error, timeout) becomes a visible row.
import type { BenchConfig } from './config.js';
import type { RunResult, Scenario } from './scenarios/types.js';
import { newNamespace, withPg } from './services.js';
import { median } from './stats.js';
import type { Family, ScenarioId, System } from './systems/types.js';
import { bounded, now, withDeadline } from './time.js';

export type RowStatus = 'ok' | 'timeout' | 'error' | 'not built' | 'unavailable' | 'n/a';

export interface Aggregate {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface Row {
  scenario: ScenarioId;
  system: string;
  label: string;
  kind: 'baton' | 'peer';
  family: Family;
  status: RowStatus;
  reason?: string;
  agg: Record<string, Aggregate>;
  runs: RunResult[];
  notes: string[];
}

/** Namespaces in use right now, so an interrupted run can still clean up. */
export const active = new Map<string, System>();

const probes = new Map<string, Promise<string | null>>();

export function probe(system: System): Promise<string | null> {
  let p = probes.get(system.id);
  if (!p) {
    p = withDeadline(system.probe(), 15_000, `${system.id} probe`).catch((err: unknown) => `unavailable: ${(err as Error).message}`);
    probes.set(system.id, p);
  }
  return p;
}

async function attempt(scenario: Scenario, system: System, config: BenchConfig, warmup: boolean, log: (m: string) => void): Promise<RunResult | Error> {
  const ns = newNamespace();
  const budget = scenario.timeoutMs(config);
  active.set(ns, system);
  try {
    const run = scenario.run({ config, system, ns, deadline: now() + budget, warmup, log });
    // The scenario stops itself at its deadline; this outer bound only catches a hang.
    return await withDeadline(run, budget + 45_000, `scenario ${scenario.id} on ${system.id}`);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  } finally {
    await bounded(() => system.destroy(ns), 30_000, `${system.id}: cleanup of ${ns}`, log);
    active.delete(ns);
  }
}

function aggregate(results: RunResult[]): Record<string, Aggregate> {
  const out: Record<string, Aggregate> = {};
  const keys = new Set(results.flatMap((r) => Object.keys(r.metrics)));
  for (const k of keys) {
    const vals = results.map((r) => r.metrics[k]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (vals.length > 0) out[k] = { median: median(vals), min: Math.min(...vals), max: Math.max(...vals), n: vals.length };
  }
  return out;
}

async function debugConnections(log: (m: string) => void): Promise<void> {
  if (!process.env.BENCH_DEBUG) return;
  const n = await withPg(async (c) => (await c.query<{ n: number }>('select count(*)::int as n from pg_stat_activity')).rows[0]?.n).catch(() => '?');
  log(`  [debug] Postgres connections: ${n}; handles: ${(process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length}`);
}

/** Probe, n/a check and warm-up: the row, ready for timed runs when its status is still 'ok'. */
async function openCell(scenario: Scenario, system: System, config: BenchConfig, log: (m: string) => void): Promise<Row> {
  await debugConnections(log);
  const row: Row = { scenario: scenario.id, system: system.id, label: system.label, kind: system.kind, family: system.family, status: 'ok', agg: {}, runs: [], notes: [] };
  const reason = await probe(system);
  if (reason) {
    row.status = reason.startsWith('not built') ? 'not built' : 'unavailable';
    row.reason = reason.replace(/^(not built|unavailable): /, '');
    return row;
  }
  const na = system.unsupported(scenario.id);
  if (na) {
    row.status = 'n/a';
    row.reason = na;
    return row;
  }
  if (scenario.warmup) {
    log(` ${system.label}: warm-up`);
    const w = await attempt(scenario, system, config, true, log);
    if (w instanceof Error) {
      row.status = 'error';
      row.reason = `warm-up failed: ${w.message.split('\n')[0]}`;
      return row;
    }
    if (w.timedOut) row.notes.push('warm-up hit the time budget');
  }
  return row;
}

function closeCell(row: Row): void {
  const complete = row.runs.filter((r) => !r.timedOut);
  if (complete.length > 0) row.agg = aggregate(complete);
  else if (row.runs.length > 0) {
    row.agg = aggregate(row.runs);
    if (row.status === 'ok') row.status = 'timeout';
  }
  for (const r of row.runs) for (const n of r.notes ?? []) if (!row.notes.includes(n)) row.notes.push(n);
}

/** One scenario for every system: warm-ups, then the timed runs in rounds across systems. */
export async function runScenario(scenario: Scenario, systems: readonly System[], config: BenchConfig, log: (m: string) => void): Promise<Row[]> {
  const cells: { system: System; row: Row }[] = [];
  for (const system of systems) {
    const row = await openCell(scenario, system, config, log);
    if (row.status !== 'ok') log(` ${system.label}: ${row.status}${row.reason ? `: ${row.reason}` : ''}`);
    cells.push({ system, row });
  }
  const total = scenario.runs(config);
  for (let k = 0; k < total; k++) {
    for (const { system, row } of cells) {
      // A system that errored, or could not finish in the budget, is not run again.
      if (row.status !== 'ok' || row.runs.some((r) => r.timedOut)) continue;
      const r = await attempt(scenario, system, config, false, log);
      if (r instanceof Error) {
        row.status = 'error';
        row.reason = r.message.split('\n')[0];
        log(` ${system.label}: error: ${row.reason}`);
        continue;
      }
      row.runs.push(r);
      log(` ${system.label} run ${k + 1}/${total}: ${Object.entries(r.metrics).map(([m, v]) => `${m}=${Number.isFinite(v) ? Math.round(v * 100) / 100 : v}`).join(' ')}${r.timedOut ? ' (timeout)' : ''}`);
    }
  }
  for (const { row } of cells) closeCell(row);
  return cells.map((c) => c.row);
}
