// `npm run bench [-- --quick] [--only=redis,bullmq] [--scenario=1,3] [--n=20000] [--runs=3] [--write]`
// Runs every selected scenario for every selected system, prints the tables, and (full runs, or
// --write) rewrites the results block of BENCHMARKS.md at the repository root.
// `npm run bench -- --from=bench/results/latest.json` renders a saved run again (after a change to
// the report or the targets) and rewrites the block with it, measuring nothing.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { USAGE, parseArgs, type BenchConfig } from './config.js';
import { describeMachine, roundTrips, type Machine } from './machine.js';
import { machineBlock, parametersBlock, scenarioTable, settingsTable, targetsTable, writeBenchmarksFile } from './report.js';
import { active, runScenario, type Row } from './runner.js';
import { SCENARIOS } from './scenarios/index.js';
import { systemsFor } from './systems/index.js';
import { checkTargets } from './targets.js';
import { bounded, now } from './time.js';

const REPO = resolve(import.meta.dirname, '../..');
const started = now();
const log = (m: string) => process.stderr.write(`[${((now() - started) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);

async function cleanupAndExit(code: number): Promise<never> {
  for (const [ns, system] of active) await bounded(() => system.destroy(ns), 10_000, `cleanup of ${ns}`, log);
  process.exit(code);
}

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const from = process.argv.find((a) => a.startsWith('--from='));
  // Relative to where `npm run` was typed (npm runs the script in bench/).
  if (from !== undefined) return rerender(resolve(process.env.INIT_CWD ?? process.cwd(), from.slice('--from='.length)));
  const config = parseArgs(process.argv.slice(2));
  const all = systemsFor(config.instrument);
  const known = all.map((s) => s.id);
  for (const id of config.only ?? []) if (!known.includes(id)) throw new Error(`--only: unknown system ${JSON.stringify(id)}; known: ${known.join(', ')}.`);
  // --only=memory selects memory's instrumentation variants (memory+noop, memory+sdk) too.
  const systems = config.only ? all.filter((s) => config.only!.includes(s.id) || config.only!.includes(s.id.split('+')[0]!)) : all;
  const scenarios = SCENARIOS.filter((s) => config.scenarios.includes(s.id));
  const command = `npm run bench${config.argv.length > 0 ? ` -- ${config.argv.join(' ')}` : ''}`;
  const machine = await describeMachine();
  log(`${command} — ${machine.cores} cores, Node ${machine.node}, load ${machine.loadStart.join(' ')}`);

  const rows: Row[] = [];
  for (const scenario of scenarios) {
    log(`scenario ${scenario.id}: ${scenario.title}`);
    rows.push(...(await runScenario(scenario, systems, config, log)));
  }
  machine.loadEnd = loadavg().map((x) => Math.round(x * 100) / 100);
  machine.roundTripEnd = await roundTrips();

  const date = new Date().toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
  const minutes = Math.round((now() - started) / 6_000) / 10;
  const saved: SavedRun = { date, command, minutes, machine, config, rows };
  const block = renderBlock(saved);
  process.stdout.write(`\n${block}\n`);

  const dir = resolve(REPO, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(resolve(dir, 'latest.json'), JSON.stringify(saved, null, 2));
  if (config.write) {
    writeBenchmarksFile(resolve(REPO, 'BENCHMARKS.md'), block);
    log('wrote BENCHMARKS.md');
  }
  log(`done in ${((now() - started) / 1000).toFixed(0)} s`);
}

/** What a run saves in bench/results/latest.json: enough to render its block again. */
interface SavedRun {
  date: string;
  command: string;
  /** Absent in files saved before it was recorded. */
  minutes?: number;
  machine: Machine;
  config: BenchConfig;
  rows: Row[];
}

function renderBlock(run: SavedRun): string {
  const ids = new Set(run.rows.map((r) => r.system));
  const systems = systemsFor(run.config.instrument).filter((s) => ids.has(s.id));
  const scenarios = SCENARIOS.filter((s) => run.rows.some((r) => r.scenario === s.id));
  return [
    `## Latest results — ${run.date}`,
    '',
    `Command: \`${run.command}\`${run.minutes === undefined ? '' : ` (${run.minutes.toFixed(1)} min)`}`,
    '',
    machineBlock(run.machine),
    parametersBlock(run.config),
    '',
    ...scenarios.map((s) => scenarioTable(s, run.rows.filter((r) => r.scenario === s.id))),
    '### Targets',
    '',
    targetsTable(checkTargets(run.rows, run.config)),
    '',
    '### Settings of each system',
    '',
    settingsTable(systems),
    '',
  ].join('\n');
}

/** Renders a saved run again and rewrites the block with it. */
function rerender(file: string): void {
  let run: SavedRun;
  try {
    run = JSON.parse(readFileSync(file, 'utf8')) as SavedRun;
  } catch (err) {
    throw new Error(`--from: cannot read a saved run from ${file} (${err instanceof Error ? err.message : String(err)}); pass the bench/results/latest.json a run wrote.`);
  }
  if (!Array.isArray(run.rows) || typeof run.date !== 'string' || typeof run.command !== 'string' || typeof run.config !== 'object' || typeof run.machine !== 'object') {
    throw new Error(`--from: ${file} is not a saved run (it needs date, command, machine, config and rows, as bench/results/latest.json has).`);
  }
  const block = renderBlock(run);
  process.stdout.write(`\n${block}\n`);
  writeBenchmarksFile(resolve(REPO, 'BENCHMARKS.md'), block);
  log(`wrote BENCHMARKS.md from ${file}`);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: cleaning up ${active.size} namespace(s)`);
    void cleanupAndExit(130);
  });
}

main().then(
  // Some clients keep timers alive after close; the run is over, so exit explicitly.
  () => cleanupAndExit(0),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    void cleanupAndExit(1);
  },
);
