// Command line → one frozen configuration. Every knob has a bound: the command must stop by
// itself on a shared machine, whatever it is given.

export const BACKENDS = ['sqlite', 'redis', 'postgres', 'nats', 'mysql', 'production'] as const;
export type BackendKind = (typeof BACKENDS)[number];

export interface ChaosConfig {
  backend: BackendKind;
  tasks: number;
  /** One worker process is SIGKILLed (and a fresh one spawned) this often. 0: no kills. */
  killEveryMs: number;
  workers: number;
  /** Task slots per worker process. */
  concurrency: number;
  /** Steps per task; each ends with a flushed checkpoint. */
  steps: number;
  /** Mean simulated work per step (each task's steps vary around it, from the seed). */
  stepMs: number;
  /** Stall timeout of the workers: how long a dead worker's leases block its tasks. */
  stallMs: number;
  /** Restart the backend's server this often (throwaway server). null: no restarts. */
  restartEveryMs: number | null;
  /** Run pg_terminate_backend against the workers' Postgres connections this often. null: never. */
  terminateEveryMs: number | null;
  /** Redis persistence of the throwaway server used for restarts. */
  redisPersistence: 'aof' | 'none';
  seed: number;
  maxSeconds: number;
  /** Keep the run's temp dir (journals, worker logs) instead of deleting it. */
  keep: boolean;
  argv: string[];
}

export const USAGE = `Usage: npm run chaos -- --backend=<${BACKENDS.join('|')}> [options]
  --tasks=3000              checkpointed tasks to enqueue (1–100000)
  --kill-every=2s           SIGKILL one random worker process this often and spawn a fresh one (0: never)
  --workers=3               worker processes (1–16)
  --concurrency=4           task slots per worker process
  --steps=5                 steps per task, each followed by a flushed checkpoint
  --step-ms=20              mean simulated work per step
  --stall=2s                workers' stall timeout (how soon a killed worker's tasks are reclaimed)
  --restart-server=every:10s  restart the backend's server during the run (a throwaway server on a
                            free loopback port: redis-server with AOF appendfsync always, nats-server
                            -js, or an initdb cluster restarted with pg_ctl -m immediate; production
                            restarts its Redis and its Postgres in turn). Not applicable to sqlite.
  --redis-persistence=aof   with --restart-server on redis/production: 'none' runs the throwaway Redis
                            without AOF or RDB, to show that such a Redis loses every task on restart
  --terminate-backends[=3s] pg_terminate_backend on the workers' Postgres connections this often
                            (postgres and production)
  --seed=N                  seed of the victim choice and the step timings (default: random, printed)
  --max-seconds=300         time bound of the whole run; tasks not completed by then count as lost
  --keep                    keep the run's temp dir (worker journals and logs)
Exit status: 0 when every task completed exactly once in the store with the right result; 1 on any
loss, wrong result or double stored completion; 2 when the run could not be set up.`;

/** "2s", "500ms", "1m", "1.5s" or a bare number of seconds → ms. */
export function parseDuration(name: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new Error(`--${name} must be a duration such as 2s, 500ms or 1m; got ${JSON.stringify(v)}.`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1_000);
}

function int(name: string, v: string, min: number, max: number): number {
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}; got ${v}.`);
  return n;
}

function within(name: string, ms: number, min: number, max: number): number {
  if (ms < min || ms > max) throw new Error(`--${name} must be from ${min} ms to ${max} ms; got ${ms} ms.`);
  return ms;
}

export function parseArgs(argv: string[]): ChaosConfig {
  const flags = new Map<string, string>();
  for (const a of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`Unknown argument ${a}.\n${USAGE}`);
    flags.set(m[1]!, m[2] ?? 'true');
  }
  const known = new Set(['backend', 'tasks', 'kill-every', 'workers', 'concurrency', 'steps', 'step-ms', 'stall', 'restart-server', 'redis-persistence', 'terminate-backends', 'seed', 'max-seconds', 'keep']);
  for (const k of flags.keys()) if (!known.has(k)) throw new Error(`Unknown option --${k}.\n${USAGE}`);

  const backend = flags.get('backend');
  if (backend === undefined) throw new Error(`--backend is required.\n${USAGE}`);
  if (!(BACKENDS as readonly string[]).includes(backend)) throw new Error(`--backend must be one of ${BACKENDS.join(', ')}; got ${JSON.stringify(backend)}.`);
  const kind = backend as BackendKind;

  let restartEveryMs: number | null = null;
  const restart = flags.get('restart-server');
  if (restart !== undefined) {
    const m = /^every:(.+)$/.exec(restart);
    if (!m) throw new Error(`--restart-server takes every:<duration>, e.g. every:10s; got ${JSON.stringify(restart)}.`);
    restartEveryMs = within('restart-server', parseDuration('restart-server', m[1]!), 2_000, 600_000);
    // SQLite is a file opened by each process: there is no server to restart.
    if (kind === 'sqlite') throw new Error('--restart-server does not apply to sqlite: it is an embedded file, there is no server to restart.');
    // A throwaway MariaDB is not wired up yet: its restarts are not measured.
    if (kind === 'mysql') throw new Error('--restart-server is not available for mysql yet: run it without restarts.');
  }

  let terminateEveryMs: number | null = null;
  const terminate = flags.get('terminate-backends');
  if (terminate !== undefined) {
    if (kind !== 'postgres' && kind !== 'production') throw new Error('--terminate-backends applies to the backends that use Postgres: postgres and production.');
    terminateEveryMs = within('terminate-backends', terminate === 'true' ? 3_000 : parseDuration('terminate-backends', terminate), 200, 600_000);
  }

  const persistence = flags.get('redis-persistence') ?? 'aof';
  if (persistence !== 'aof' && persistence !== 'none') throw new Error(`--redis-persistence must be aof or none; got ${JSON.stringify(persistence)}.`);
  if (flags.has('redis-persistence') && (restartEveryMs === null || (kind !== 'redis' && kind !== 'production'))) {
    throw new Error('--redis-persistence only applies with --restart-server on redis or production (the throwaway Redis).');
  }

  const killEvery = flags.get('kill-every') ?? '2s';
  const killEveryMs = killEvery === '0' ? 0 : within('kill-every', parseDuration('kill-every', killEvery), 100, 600_000);
  const stallMs = within('stall', parseDuration('stall', flags.get('stall') ?? '2s'), 500, 60_000);
  const seedFlag = flags.get('seed');
  return Object.freeze({
    backend: kind,
    tasks: int('tasks', flags.get('tasks') ?? '3000', 1, 100_000),
    killEveryMs,
    workers: int('workers', flags.get('workers') ?? '3', 1, 16),
    concurrency: int('concurrency', flags.get('concurrency') ?? '4', 1, 64),
    steps: int('steps', flags.get('steps') ?? '5', 1, 100),
    stepMs: int('step-ms', flags.get('step-ms') ?? '20', 0, 10_000),
    stallMs,
    restartEveryMs,
    terminateEveryMs,
    redisPersistence: persistence,
    seed: seedFlag === undefined ? Math.floor(Math.random() * 2 ** 31) : int('seed', seedFlag, 0, 2 ** 31 - 1),
    maxSeconds: int('max-seconds', flags.get('max-seconds') ?? '300', 10, 3_600),
    keep: flags.has('keep'),
    argv,
  });
}

/** The command that reproduces a run: the given flags, with the seed made explicit. */
export function commandOf(config: ChaosConfig): string {
  const args = config.argv.filter((a) => !a.startsWith('--seed='));
  return `npm run chaos -- ${[...args, `--seed=${config.seed}`].join(' ')}`;
}
