// Command line → one frozen configuration. Full run: the sizes. --quick: the same
// scenarios, smaller, so the whole suite finishes in under two minutes.
import type { ScenarioId } from './systems/types.js';

export type InstrumentMode = 'off' | 'noop' | 'sdk' | 'sampled' | 'prom';
const INSTRUMENT_MODES: readonly InstrumentMode[] = ['off', 'noop', 'sdk', 'sampled', 'prom'];

export interface BenchConfig {
  quick: boolean;
  /** Jobs per run in scenarios 1–3 and 8. */
  n: number;
  /** Timed runs per scenario and system (median and range are over these). */
  runs: number;
  /** Jobs in the untimed warm-up pass before the runs. */
  warmup: number;
  batchSize: number;
  /** Worker concurrency of scenario 3; scenario 8's two workers get half each. */
  concurrency: number;
  latencyJobs: number;
  latencySpacingMs: number;
  latencyConcurrency: number;
  /** After the last latency job was sent, how long the rest may take to start. */
  latencyGraceMs: number;
  checkpointTasks: number;
  checkpointsPerTask: number;
  recoveryTasks: number;
  stallTimeoutMs: number;
  memoryTasks: number;
  memorySamples: number;
  /** Budget of one timed run; past it the run stops and is recorded as "timeout". */
  runTimeoutMs: number;
  memoryTimeoutMs: number;
  only: string[] | null;
  scenarios: ScenarioId[];
  /** Write BENCHMARKS.md (default: on for full runs, off for --quick). */
  write: boolean;
  /** Instrumentation variants of every Baton system (off: none; noop: @baton/otel, no SDK; sdk: @baton/otel on a real SDK, batch processor). */
  instrument: InstrumentMode[];
  argv: string[];
}

const ALL: ScenarioId[] = [1, 2, 3, 4, 5, 6, 7, 8];

export const USAGE = `Usage: npm run bench -- [options]
  --quick              small sizes, 1 run each, whole suite in under 2 minutes (does not write BENCHMARKS.md)
  --only=a,b           systems: memory, sqlite, redis, postgres, mysql, production, nats, bullmq, pg-boss, graphile-worker,
                       bullmq-postgres
  --scenario=1,3       scenarios 1–8
  --n=20000            jobs per run in scenarios 1–3 and 8
  --runs=3             timed runs per scenario and system
  --timeout=120        seconds one timed run may take before it is recorded as timeout
  --instrument=off,noop,sdk
                       run every Baton system once per mode, side by side in the same rounds: off (no
                       instrumentation), noop (@baton/otel with no SDK registered: no-op tracer and meter),
                       sdk (@baton/otel on a real tracer and meter provider, batch span processor, discarding
                       exporters), sampled (sdk with a parent-based 10 % trace-id ratio sampler), prom
                       (@baton/prometheus in a prom-client registry); variants are named memory+noop,
                       memory+sdk, … (default: off)
  --write / --no-write rewrite the results block of BENCHMARKS.md (default: only a full run of the
                       whole suite; a subset or resized run prints without writing)
  --from=FILE          measure nothing: render the run saved in FILE (bench/results/latest.json) again
                       and rewrite the results block with it (after a change to the report or targets)`;

function int(name: string, v: string, min: number, max: number): number {
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}; got ${v}.`);
  return n;
}

export function parseArgs(argv: string[]): BenchConfig {
  const flags = new Map<string, string>();
  for (const a of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`Unknown argument ${a}.\n${USAGE}`);
    flags.set(m[1]!, m[2] ?? 'true');
  }
  const known = ['quick', 'only', 'scenario', 'n', 'runs', 'write', 'no-write', 'timeout', 'instrument'];
  for (const k of flags.keys()) if (!known.includes(k)) throw new Error(`Unknown flag --${k}.\n${USAGE}`);
  const quick = flags.has('quick');
  const n = flags.has('n') ? int('n', flags.get('n')!, 10, 10_000_000) : quick ? 500 : 20_000;
  const scenarios = flags.has('scenario')
    ? flags
        .get('scenario')!
        .split(',')
        .map((s) => int('scenario', s.trim(), 1, 8) as ScenarioId)
    : ALL;
  const only = flags.has('only')
    ? flags
        .get('only')!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : null;
  const instrument = flags.has('instrument')
    ? [...new Set(flags.get('instrument')!.split(',').map((m) => m.trim()))].map((m) => {
        if (!INSTRUMENT_MODES.includes(m as InstrumentMode)) throw new Error(`--instrument takes off, noop, sdk, sampled and prom; got ${JSON.stringify(m)}.`);
        return m as InstrumentMode;
      })
    : (['off'] as InstrumentMode[]);
  const runTimeoutMs = flags.has('timeout') ? int('timeout', flags.get('timeout')!, 1, 3_600) * 1_000 : quick ? 6_000 : 120_000;
  return Object.freeze({
    quick,
    n,
    runs: flags.has('runs') ? int('runs', flags.get('runs')!, 1, 10) : quick ? 1 : 3,
    warmup: Math.max(50, Math.min(2_000, Math.floor(n / 10))),
    batchSize: 1_000,
    concurrency: 50,
    latencyJobs: quick ? 200 : 2_000,
    latencySpacingMs: 2,
    latencyConcurrency: 10,
    latencyGraceMs: quick ? 3_000 : 30_000,
    checkpointTasks: quick ? 20 : 200,
    checkpointsPerTask: 10,
    recoveryTasks: 50,
    stallTimeoutMs: quick ? 1_000 : 5_000,
    memoryTasks: quick ? 5_000 : 200_000,
    memorySamples: 10,
    runTimeoutMs,
    memoryTimeoutMs: quick ? 6_000 : 150_000,
    only,
    scenarios,
    // A subset or resized run would replace the full table with a partial one: only the full suite writes by default.
    write: flags.has('no-write') ? false : flags.has('write') || (!quick && !['only', 'scenario', 'n', 'runs', 'timeout', 'instrument'].some((f) => flags.has(f))),
    instrument,
    argv,
  });
}
