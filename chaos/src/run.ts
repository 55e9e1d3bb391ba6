// One chaos run: set up the namespace (and throwaway servers for --restart-server), enqueue the
// tasks, run them over worker processes while killing workers, restarting servers and cutting
// Postgres connections on their schedules, stop when every task is terminal or the time bound is
// reached, audit, and clean up whatever happens.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBaton, isTerminal, type Backend, type TaskRecord } from '@baton/core';
import pg from 'pg';
import { audit, type Audit } from './audit.js';
import { destroyNamespace, makeBackend, type Endpoints } from './backends.js';
import type { ChaosConfig } from './config.js';
import { Fleet, type UnexpectedExit } from './fleet.js';
import { readJournals } from './journal.js';
import { startThrowawayNats, startThrowawayPostgres, startThrowawayRedis, type ThrowawayServer } from '@baton/conformance/servers';
import { DATABASE_URL, NATS_URL, REDIS_URL, assertLoopback, withParam, MYSQL_URL } from './services.js';
import { TASK_TYPE, prng, type ChaosInput } from './workload.js';

export interface RunReport {
  audit: Audit;
  /** From the first enqueue until every task was terminal (or the time bound). */
  seconds: number;
  /** Every task reached a terminal state before the time bound. */
  drained: boolean;
  kills: number;
  workersSpawned: number;
  unexpectedExits: UnexpectedExit[];
  serverRestarts: number;
  /** Longest time a restarted server was down (ms). */
  maxRestartDowntimeMs: number;
  terminateRounds: number;
  connectionsTerminated: number;
  servers: string[];
  namespace: string;
  /** The temp dir, when kept (--keep). */
  keptDir: string | null;
}

/** Tasks a retry loop gives up on: a run with server restarts needs a few. */
const MAX_RETRIES = 10;
const ENQUEUE_BATCH = 500;
const LIST_BATCH = 500;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sleeps, or returns early once `signal` aborts: the chaos loops must stop at the time bound, not a period later. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Retries `fn` (bounded) while a server is coming back; the last error is thrown. */
async function patiently<T>(what: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      await sleep(Math.min(2_000, 100 * 2 ** attempt));
    }
  }
}

async function readRecords(backend: Backend, ids: string[]): Promise<Map<string, TaskRecord>> {
  const out = new Map<string, TaskRecord>();
  for (let i = 0; i < ids.length; i += LIST_BATCH) {
    const slice = ids.slice(i, i + LIST_BATCH);
    const got = await patiently('reading task records', () => backend.tasks.list({ ids: slice, limit: LIST_BATCH }));
    for (const t of got.tasks) out.set(t.id, t);
  }
  return out;
}

async function countEvents(backend: Backend, type: 'task.completed' | 'task.recovered'): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let after = 0;
  // Bounded: 10,000 pages of 1,000 is far more events than any run writes.
  for (let page = 0; page < 10_000; page++) {
    const events = await patiently(`reading ${type} events`, () => backend.events.query({ type: [type], after, limit: 1_000 }));
    if (events.length === 0) break;
    for (const e of events) if (e.taskId !== null) counts.set(e.taskId, (counts.get(e.taskId) ?? 0) + 1);
    after = events.at(-1)!.seq;
  }
  return counts;
}

async function terminateBackends(url: string, applicationName: string): Promise<number> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    const r = await c.query<{ n: number }>(
      'select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and pid <> pg_backend_pid()) t',
      [applicationName],
    );
    return r.rows[0]?.n ?? 0;
  } finally {
    await c.end();
  }
}

/** `signal` (SIGINT / SIGTERM) stops the run early; the cleanup in `finally` still runs. */
export async function runChaos(config: ChaosConfig, log: (m: string) => void, signal: AbortSignal): Promise<RunReport> {
  const dir = mkdtempSync(join(tmpdir(), 'baton-chaos-'));
  const ns = `chaos_${randomBytes(5).toString('hex')}`;
  const servers: ThrowawayServer[] = [];
  let fleet: Fleet | null = null;
  let producer: ReturnType<typeof createBaton> | null = null;
  // Nothing may outlive the run, even when the parent dies of an exception.
  const lastResort = () => {
    fleet?.killAllNow();
    for (const s of servers) s.killNow();
  };
  process.once('exit', lastResort);
  const kind = config.backend;
  const usesRedis = kind === 'redis' || kind === 'production';
  const usesPostgres = kind === 'postgres' || kind === 'production';
  let endpoints: Endpoints = {};
  let namespaceCreated = false;
  try {
    // Servers: throwaway ones when they are to be restarted, else the shared loopback services.
    const restarts = config.restartEveryMs !== null;
    let redisUrl = REDIS_URL;
    let pgUrl = DATABASE_URL;
    let natsUrl = NATS_URL;
    if (restarts && usesRedis) {
      const s = await startThrowawayRedis({ persistence: config.redisPersistence });
      servers.push(s);
      redisUrl = s.url;
    }
    if (restarts && usesPostgres) {
      const s = await startThrowawayPostgres();
      servers.push(s);
      pgUrl = s.url;
    }
    if (restarts && kind === 'nats') {
      const s = await startThrowawayNats();
      servers.push(s);
      natsUrl = s.url;
    }
    for (const s of servers) log(`throwaway ${s.name}`);
    if (usesRedis) assertLoopback(redisUrl);
    if (usesPostgres) assertLoopback(pgUrl);
    if (kind === 'nats') assertLoopback(natsUrl);

    // Workers and the parent connect under different application_names: --terminate-backends cuts only the workers'.
    const workerApp = `${ns}_w`;
    endpoints = {
      ...(usesRedis ? { redis: redisUrl } : {}),
      ...(usesPostgres ? { postgres: withParam(pgUrl, 'application_name', workerApp) } : {}),
      ...(kind === 'nats' ? { nats: natsUrl } : {}),
      ...(kind === 'mysql' ? { mysql: MYSQL_URL } : {}),
      ...(kind === 'sqlite' ? { sqliteFile: join(dir, `${ns}.db`) } : {}),
    };
    const parentEndpoints: Endpoints = { ...endpoints, ...(usesPostgres ? { postgres: withParam(pgUrl, 'application_name', `${ns}_ctl`) } : {}) };
    const backend = makeBackend(kind, ns, parentEndpoints, { stallMs: config.stallMs });
    producer = createBaton({ backend });
    // Connects and applies migrations (the SQL backends) before anything is enqueued.
    await producer.start({ worker: false, timers: false, supervisor: false });
    namespaceCreated = true;

    // Enqueue everything before any worker starts: the time bound then measures the drain.
    const started = Date.now();
    const ids = new Map<string, number>();
    for (let from = 0; from < config.tasks; from += ENQUEUE_BATCH) {
      if (signal.aborted) throw new Error('interrupted');
      const specs = [];
      for (let n = from; n < Math.min(config.tasks, from + ENQUEUE_BATCH); n++) {
        const input: ChaosInput = { n, steps: config.steps, stepMs: config.stepMs, seed: config.seed };
        specs.push({ type: TASK_TYPE, input: { ...input }, maxRetries: MAX_RETRIES });
      }
      const results = await producer.enqueueMany(specs);
      results.forEach((r, i) => {
        if (r.duplicate) throw new Error(`enqueue of task ${from + i} returned a duplicate in a fresh namespace`);
        ids.set(r.taskId, from + i);
      });
    }
    log(`enqueued ${ids.size} tasks in ${((Date.now() - started) / 1000).toFixed(1)} s on ${backend.name} (namespace ${ns})`);

    fleet = new Fleet({ kind, namespace: ns, dir, endpoints, stallMs: config.stallMs, concurrency: config.concurrency, size: config.workers, log });
    fleet.start();
    const deadline = started + config.maxSeconds * 1_000;
    const random = prng(config.seed);

    let serverRestarts = 0;
    let maxRestartDowntimeMs = 0;
    let terminateRounds = 0;
    let connectionsTerminated = 0;
    let stopChaos = false;
    const chaosStop = new AbortController();
    const chaosLoops: Promise<void>[] = [];

    // Kills: one random ready worker per period, replaced at once. Skipped while none is ready.
    if (config.killEveryMs > 0) {
      chaosLoops.push(
        (async () => {
          while (!stopChaos) {
            await pause(config.killEveryMs, chaosStop.signal);
            if (stopChaos) break;
            fleet!.killOne(random);
          }
        })(),
      );
    }
    if (config.restartEveryMs !== null) {
      const every = config.restartEveryMs;
      chaosLoops.push(
        (async () => {
          // production: its Redis and its Postgres in turn.
          for (let i = 0; !stopChaos; i++) {
            await pause(every, chaosStop.signal);
            if (stopChaos) break;
            const s = servers[i % servers.length]!;
            try {
              const down = await s.restart();
              serverRestarts++;
              maxRestartDowntimeMs = Math.max(maxRestartDowntimeMs, down);
              log(`restarted ${s.name} (down ${down} ms)`);
            } catch (err) {
              log(`restart of ${s.name} failed: ${err instanceof Error ? err.message : String(err)}`);
              throw err;
            }
          }
        })(),
      );
    }
    if (config.terminateEveryMs !== null) {
      const every = config.terminateEveryMs;
      chaosLoops.push(
        (async () => {
          while (!stopChaos) {
            await pause(every, chaosStop.signal);
            if (stopChaos) break;
            // The server may be restarting: a failed round is skipped, not fatal.
            const n = await terminateBackends(pgUrl, workerApp).catch(() => null);
            if (n !== null) {
              terminateRounds++;
              connectionsTerminated += n;
            }
          }
        })(),
      );
    }
    let chaosError: unknown = null;
    const chaosDone = Promise.all(chaosLoops).catch((err: unknown) => {
      chaosError = err;
      stopChaos = true;
      chaosStop.abort();
    });

    // Progress: the store's counts, once a second. A failed read (server restarting) is skipped.
    let drained = false;
    let lastLog = 0;
    let terminal = 0;
    while (Date.now() < deadline && chaosError === null && !signal.aborted) {
      await sleep(1_000);
      if (fleet.broken) throw new Error(`workers keep exiting before they get ready (${fleet.unexpected.length} unexpected exits); last log:\n${fleet.unexpected.at(-1)?.logTail ?? ''}`);
      const counts = await backend.tasks.counts('queue').catch(() => null);
      if (counts === null) continue;
      terminal = counts.filter((c) => isTerminal(c.state)).reduce((s, c) => s + c.count, 0);
      if (Date.now() - lastLog >= 5_000) {
        lastLog = Date.now();
        const byState = Object.entries(
          counts.reduce<Record<string, number>>((acc, c) => ({ ...acc, [c.state]: (acc[c.state] ?? 0) + c.count }), {}),
        )
          .map(([s, n]) => `${s} ${n}`)
          .join(', ');
        log(`${((Date.now() - started) / 1000).toFixed(0)} s: ${byState}; kills ${fleet.kills}, restarts ${serverRestarts}, connections cut ${connectionsTerminated}`);
      }
      if (terminal >= ids.size) {
        drained = true;
        break;
      }
    }
    const seconds = (Date.now() - started) / 1000;
    stopChaos = true;
    chaosStop.abort();
    // Workers stop now (graceful: in-flight runs get their 2 s shutdown deadline), not after the
    // chaos loops: a restart in progress must not give them extra time past the bound.
    const stopping = fleet.stop();
    await chaosDone;
    if (chaosError !== null) throw chaosError;
    if (signal.aborted) throw new Error('interrupted');
    if (!drained) log(`time bound of ${config.maxSeconds} s reached with ${ids.size - terminal} task(s) not terminal`);
    // Graceful stop: survivors flush their event buffers, so the event log is as complete as it gets.
    await stopping;

    const records = await readRecords(backend, [...ids.keys()]);
    const completedEvents = await countEvents(backend, 'task.completed');
    const recovered = await countEvents(backend, 'task.recovered');
    const journals = readJournals(dir);
    const result = audit({
      ids,
      steps: config.steps,
      records,
      completedEvents,
      recoveredEvents: [...recovered.values()].reduce((s, n) => s + n, 0),
      journal: journals.entries,
      tornJournalLines: journals.torn,
    });
    return {
      audit: result,
      seconds,
      drained,
      kills: fleet.kills,
      workersSpawned: fleet.spawned,
      unexpectedExits: fleet.unexpected,
      serverRestarts,
      maxRestartDowntimeMs,
      terminateRounds,
      connectionsTerminated,
      servers: servers.map((s) => s.name),
      namespace: ns,
      keptDir: config.keep ? dir : null,
    };
  } finally {
    // Cleanup is bounded step by step: a hung close must not keep the command from stopping.
    const step = async (what: string, fn: () => Promise<unknown>) => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([fn(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out after 20 s')), 20_000)))]);
      } catch (err) {
        log(`cleanup: ${what}: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        clearTimeout(timer);
      }
    };
    if (fleet) await step('stopping workers', () => fleet!.stop());
    if (producer) await step('closing the parent backend', () => producer!.close({ deadlineMs: 1_000 }));
    // Throwaway servers go whole; on the shared ones only the namespace is removed.
    if (servers.length === 0 && namespaceCreated) await step(`removing namespace ${ns}`, () => destroyNamespace(kind, ns, endpoints));
    for (const s of servers) await step(`destroying ${s.name}`, () => s.destroy());
    if (!config.keep) rmSync(dir, { recursive: true, force: true });
    process.off('exit', lastResort);
  }
}
