// Markdown tables: one per scenario (every system, every status visible), the Baton/peer
// ratios on the same backend, the targets, the machine and the settings. The same text goes
// to stdout and, for full runs, between the markers in BENCHMARKS.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { BenchConfig } from './config.js';
import type { Machine } from './machine.js';
import { PAYLOAD_BYTES } from './payload.js';
import type { Row } from './runner.js';
import type { Metric, Scenario } from './scenarios/types.js';
import type { System } from './systems/types.js';
import type { TargetResult } from './targets.js';

export const BEGIN = '<!-- bench:results:begin (written by `npm run bench`; edit outside these markers) -->';
export const END = '<!-- bench:results:end -->';

/** Baton backend → the peers on the same server it is compared with. */
const PAIRS: [string, string][] = [
  ['redis', 'bullmq'],
  ['postgres', 'pg-boss'],
  ['postgres', 'graphile-worker'],
  ['postgres', 'bullmq-postgres'],
  ['production', 'bullmq'],
  ['production', 'pg-boss'],
  ['production', 'graphile-worker'],
  ['production', 'bullmq-postgres'],
];

function num(v: number, unit: string): string {
  if (!Number.isFinite(v)) return '–';
  if (unit === 'jobs/s' || unit === 'tasks' || unit === 'unique' || unit === 'runs' || unit === 'from checkpoint' || unit.includes('rows')) return Math.round(v).toLocaleString('en-US');
  if (unit.startsWith('%')) return `${v >= 0 ? '+' : ''}${v.toFixed(1)}`;
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 10) return v.toFixed(1);
  if (Math.abs(v) >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

function cell(row: Row, m: Metric): string {
  const a = row.agg[m.key];
  if (!a) return '–';
  const mid = num(a.median, m.unit);
  if (a.n < 2 || a.min === a.max) return mid;
  return `${mid} (${num(a.min, m.unit)}–${num(a.max, m.unit)})`;
}

function statusCell(row: Row): string {
  const notes = row.notes.length > 0 ? `; ${row.notes.join('; ')}` : '';
  switch (row.status) {
    case 'ok':
      return `${row.runs.length} run${row.runs.length === 1 ? '' : 's'}${notes}`;
    case 'timeout':
      return `**timeout** (partial: what finished within the budget)${notes}`;
    default:
      return `**${row.status}** — ${row.reason ?? ''}${notes}`;
  }
}

const esc = (s: string) => s.replace(/\|/g, '\\|');

export function scenarioTable(s: Scenario, rows: Row[]): string {
  const head = ['System', ...s.metrics.map((m) => (m.key === m.unit ? m.key : `${m.key} (${m.unit})`)), 'Runs / status'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 || i === head.length - 1 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const measured = r.status === 'ok' || r.status === 'timeout';
    lines.push(`| ${r.label} | ${s.metrics.map((m) => (measured ? cell(r, m) : '–')).join(' | ')} | ${esc(statusCell(r))} |`);
  }
  const ratios = ratioTable(s, rows);
  const curves = s.id === 7 ? memoryCurves(rows) : null;
  return [`### ${s.id}. ${s.title}`, '', ...lines, '', ...(curves ? [curves, ''] : []), ...(ratios ? [ratios, ''] : [])].join('\n');
}

interface Sample {
  processed: number;
  rss: number;
  backend: number | null;
}

/** Scenario 7's samples along the run: the plateau (or the growth) is visible here. */
function memoryCurves(rows: Row[]): string | null {
  const MB = 1024 * 1024;
  const out: string[] = [];
  for (const r of rows) {
    const samples = (r.runs[0]?.detail ?? []) as Sample[];
    if (samples.length === 0) continue;
    const pts = samples.map((x) => `${Math.round(x.processed / 1000)}k: ${Math.round(x.rss / MB)}${x.backend === null ? '' : ` / ${(x.backend / MB).toFixed(1)}`}`);
    out.push(`- ${r.label}: ${pts.join(' · ')}`);
  }
  return out.length > 0 ? ['Samples along the run (tasks processed: RSS MB / backend MB):', '', ...out].join('\n') : null;
}

function ratioTable(s: Scenario, rows: Row[]): string | null {
  const metrics = s.metrics.filter((m) => m.compare !== false);
  const out: string[] = [];
  for (const [b, p] of PAIRS) {
    const br = rows.find((r) => r.system === b);
    const pr = rows.find((r) => r.system === p);
    if (!br || !pr) continue;
    const cells = metrics.map((m) => {
      const x = br.agg[m.key]?.median;
      const y = pr.agg[m.key]?.median;
      const measured = (r: Row) => r.status === 'ok' || r.status === 'timeout';
      if (!measured(br) || !measured(pr) || x === undefined || y === undefined || !Number.isFinite(x) || !Number.isFinite(y) || y === 0) return '–';
      const partial = br.status === 'timeout' || pr.status === 'timeout' ? ' (partial)' : '';
      return `${(x / y).toFixed(2)}×${partial}`;
    });
    if (cells.every((c) => c === '–')) {
      out.push(`| ${br.label} | ${pr.label} | ${metrics.map(() => '–').join(' | ')} |`);
    } else out.push(`| ${br.label} | ${pr.label} | ${cells.join(' | ')} |`);
  }
  if (out.length === 0 || metrics.length === 0) return null;
  const head = ['Baton', 'Peer (same backend)', ...metrics.map((m) => `${m.key} Baton/peer (${m.better} is better)`)];
  return [`Ratios:`, '', `| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`, ...out].join('\n');
}

export function targetsTable(results: TargetResult[]): string {
  const mark = { met: '✅ met', missed: '❌ missed', 'not measured': '— not measured' } as const;
  return ['| Target | Measured (same run) | Result |', '|---|---|---|', ...results.map((t) => `| ${esc(t.target)} | ${esc(t.measured)} | ${mark[t.state]} |`)].join('\n');
}

export function machineBlock(m: Machine): string {
  return [
    `- CPU: ${m.cpu}, ${m.cores} cores; ${m.memoryGb} GB RAM; ${m.os}`,
    `- Node ${m.node}; Redis ${m.redis}; PostgreSQL ${m.postgres}; NATS ${m.nats} — all on loopback`,
    `- Load average (1/5/15 min) at start: ${m.loadStart.join(' / ')}${m.loadEnd ? `; at end: ${m.loadEnd.join(' / ')}` : ''} (the machine is shared: other processes ran during the measurement)`,
    `- Round trip at start: ${m.roundTripStart}${m.roundTripEnd ? `; at end: ${m.roundTripEnd}` : ''}`,
    `- Code measured: ${m.code}`,
  ].join('\n');
}

export function settingsTable(systems: System[]): string {
  return ['| System | Settings |', '|---|---|', ...systems.map((s) => `| ${s.label} | ${esc(s.settings)} |`)].join('\n');
}

export function parametersBlock(c: BenchConfig): string {
  return [
    `- N = ${c.n.toLocaleString('en-US')} jobs (scenarios 1–3 and 8), payload ${PAYLOAD_BYTES} bytes of JSON, batches of ${c.batchSize.toLocaleString('en-US')}, worker concurrency ${c.concurrency}`,
    `- ${c.runs} timed run${c.runs === 1 ? '' : 's'} per scenario and system (median, range = min–max), taken in rounds (run 1 of every system, then run 2, …), each on a fresh namespace (Redis prefix / Postgres schema / SQLite file / queue), after an untimed warm-up of ${c.warmup.toLocaleString('en-US')} jobs; a run past ${c.runTimeoutMs / 1000} s stops and is marked timeout`,
    `- Scenario 4: ${c.latencyJobs.toLocaleString('en-US')} jobs ${c.latencySpacingMs} ms apart, worker concurrency ${c.latencyConcurrency}; scenario 5: ${c.checkpointTasks} tasks (half with ${c.checkpointsPerTask} checkpoints), concurrency 1; scenario 6: ${c.recoveryTasks} tasks, stall timeout ${c.stallTimeoutMs / 1000} s; scenario 7: ${c.memoryTasks.toLocaleString('en-US')} tasks in a fresh child process, ${c.memorySamples} samples, budget ${c.memoryTimeoutMs / 1000} s; scenario 8: queues q0–q3, worker A serving q0 + q1 and worker B q2 + q3, concurrency ${Math.floor(c.concurrency / 2)} each, every tenth job of each queue high priority`,
  ].join('\n');
}

export function writeBenchmarksFile(file: string, block: string): void {
  const wrapped = `${BEGIN}\n${block.trim()}\n${END}`;
  if (existsSync(file)) {
    const text = readFileSync(file, 'utf8');
    const a = text.indexOf(BEGIN);
    const b = text.indexOf(END);
    if (a >= 0 && b > a) {
      writeFileSync(file, `${text.slice(0, a)}${wrapped}${text.slice(b + END.length)}`);
      return;
    }
    writeFileSync(file, `${text.trimEnd()}\n\n${wrapped}\n`);
    return;
  }
  writeFileSync(file, `# Benchmarks\n\nProduced by \`npm run bench\` (bench/). Everything between the markers below is rewritten by each full run.\n\n${wrapped}\n`);
}
