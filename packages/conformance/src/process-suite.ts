// Real worker processes on one backend namespace: a worker SIGKILLed mid-task (after checkpointing)
// hands its task on — another process reclaims it after the stall timeout and resumes from the
// checkpoint; no task is lost, none completes twice; several processes never start one task twice.
// For backends several processes can share (capabilities.multiProcess).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createBaton, isTerminal, silentLogger, type Backend, type JsonValue, type StoredEvent } from '@baton/core';
import { sleep } from './harness.js';

export interface ProcessTarget {
  name: string;
  /** Path of a module exporting `makeBackend(namespace)`, loaded in each worker process. */
  backendModule: string;
  /** A fresh namespace (key prefix, schema, stream prefix or file path) for one test. */
  namespace(): string;
  /** The backend of `namespace` in the test process itself. */
  create(namespace: string): Backend | Promise<Backend>;
  /** Removes what the namespace left behind. */
  destroy?(namespace: string): Promise<void>;
}

const here = fileURLToPath(new URL('.', import.meta.url));
// Source (tests) or built package.
const workerScript = [join(here, 'process-worker.ts'), join(here, 'process-worker.js')].find((f) => existsSync(f)) ?? join(here, 'process-worker.js');
const root = process.cwd();

interface Message {
  pid: number;
  event: string;
  taskId?: string;
  resumedFrom?: string | null;
  step?: number;
}

interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Everything the worker wrote to stderr so far (its warning and error log lines). */
  stderr(): string;
  next(pred: (m: Message) => boolean, timeoutMs?: number): Promise<Message>;
}

function startWorker(target: ProcessTarget, ns: string, env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', workerScript, pathToFileURL(target.backendModule).href, ns], {
    cwd: root,
    env: { ...process.env, ...(existsSync(join(root, 'tsconfig.json')) ? { TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const messages: Message[] = [];
  const listeners = new Set<() => void>();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      messages.push(JSON.parse(line) as Message);
    } catch {
      return;
    }
    for (const l of [...listeners]) l();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    stderr: () => stderr,
    next(pred, timeoutMs = 20_000) {
      return new Promise<Message>((resolve, reject) => {
        const check = () => {
          const m = messages.find(pred);
          if (m === undefined) return;
          done();
          resolve(m);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`worker ${child.pid}: no matching message within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

async function stopWorker(w: WorkerProcess): Promise<number | null> {
  if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  const killed = sleep(10_000).then(() => {
    w.child.kill('SIGKILL');
    return 'killed' as const;
  });
  const code = await Promise.race([w.exited, killed]);
  return code === 'killed' ? null : code;
}

/** Every event of each task, in log order. */
async function eventsByTask(backend: Backend, ids: string[]): Promise<Map<string, StoredEvent[]>> {
  const out = new Map<string, StoredEvent[]>(ids.map((id) => [id, []]));
  let after = 0;
  for (let page = 0; page < 200; page++) {
    const events = await backend.events.query({ after, limit: 1000 });
    if (events.length === 0) break;
    for (const e of events) if (e.taskId !== null) out.get(e.taskId)?.push(e);
    after = events.at(-1)!.seq;
  }
  return out;
}

// What may follow each lifecycle event in one task's trail. `task.lease_lost` comes from a stale
// holder at any time and `task.progress` / `task.resumed` only inside a run, so they are checked apart.
const NEXT: Record<string, readonly string[]> = {
  start: ['task.enqueued'],
  'task.enqueued': ['task.started', 'task.cancelled'],
  'task.started': ['task.resumed', 'task.checkpointed', 'task.completed', 'task.failed', 'task.released', 'task.recovered', 'task.dead', 'task.corrupt'],
  'task.resumed': ['task.checkpointed', 'task.completed', 'task.failed', 'task.released', 'task.recovered'],
  'task.checkpointed': ['task.checkpointed', 'task.completed', 'task.failed', 'task.released', 'task.recovered'],
  'task.recovered': ['task.started'],
  'task.released': ['task.started'],
  'task.failed': ['task.retry_scheduled', 'task.dead'],
  'task.retry_scheduled': ['task.started'],
  'task.completed': [],
  'task.dead': [],
};

/**
 * Checks one task's audit trail: unique, increasing seqs; it starts with task.enqueued, every
 * run's events follow its task.started, and it ends with exactly one outcome. Returns what is
 * wrong (empty when the trail is unbroken).
 */
function trailProblems(events: StoredEvent[]): string[] {
  const problems: string[] = [];
  const seqs = events.map((e) => e.seq);
  if (new Set(seqs).size !== seqs.length) problems.push(`duplicate seq in ${seqs.join(',')}`);
  if (seqs.some((q, i) => i > 0 && q <= seqs[i - 1]!)) problems.push('seqs out of order');
  let prev = 'start';
  for (const e of events) {
    if (e.type === 'task.lease_lost' || e.type === 'task.progress') continue;
    if (!NEXT[prev]?.includes(e.type)) problems.push(`${e.type} after ${prev}`);
    prev = e.type;
  }
  if (prev !== 'task.completed') problems.push(`ends with ${prev}`);
  return problems;
}

async function waitAllTerminal(backend: Backend, ids: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tasks = (await backend.tasks.list({ ids, limit: 1000 })).tasks;
    if (tasks.length === ids.length && tasks.every((t) => isTerminal(t.state))) return;
    if (Date.now() > deadline) throw new Error(`tasks not finished within ${timeoutMs} ms: ${tasks.filter((t) => !isTerminal(t.state)).length} left`);
    await sleep(100);
  }
}

async function countEvents(backend: Backend, type: 'task.completed' | 'task.started' | 'task.recovered'): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let after = 0;
  for (let page = 0; page < 100; page++) {
    const events = await backend.events.query({ type: [type], after, limit: 1000 });
    if (events.length === 0) break;
    for (const e of events) counts.set(e.taskId!, (counts.get(e.taskId!) ?? 0) + 1);
    after = events.at(-1)!.seq;
  }
  return counts;
}

/** Registers the process suite's tests for `target` in the calling test file. */
export function runProcessSuite(target: ProcessTarget): void {
    describe(`process suite: ${target.name} — real worker processes on one namespace`, () => {
    const workers: WorkerProcess[] = [];
    const namespaces: string[] = [];
    afterEach(async () => {
      await Promise.all(workers.splice(0).map((w) => stopWorker(w)));
      for (const ns of namespaces.splice(0)) await target.destroy?.(ns);
    });

    it('a worker SIGKILLed mid-task after checkpointing: another reclaims after the stall timeout and resumes from the checkpoint', async () => {
      const ns = target.namespace();
      namespaces.push(ns);
      const backend = await target.create(ns);
      const producer = createBaton({ backend, logger: silentLogger });
      try {
        const victim = await producer.enqueue('steps', { steps: 5, hangAt: 2 });
        const others = await producer.enqueueMany(Array.from({ length: 20 }, (_, i) => ({ type: 'steps', input: { steps: 3, i } })));
        const ids = [victim.taskId, ...others.map((r) => r.taskId)];

        const a = startWorker(target, ns);
        const b = startWorker(target, ns);
        workers.push(a, b);
        const hanging = await Promise.race([a, b].map((w) => w.next((m) => m.event === 'hanging' && m.taskId === victim.taskId)));
        const [dying, survivor] = hanging.pid === a.child.pid ? [a, b] : [b, a];
        expect((await backend.checkpoints.load(victim.taskId))?.token).toBe('step-2');

        dying.child.kill('SIGKILL');
        expect(await dying.exited).toBeNull();

        const resumed = await survivor.next((m) => m.event === 'started' && m.taskId === victim.taskId, 20_000);
        expect(resumed.resumedFrom).toBe('step-2');
        await waitAllTerminal(backend, ids, 20_000);

        const tasks = (await backend.tasks.list({ ids, limit: 1000 })).tasks;
        expect(tasks.map((t) => t.state)).toEqual(ids.map(() => 'completed'));
        const v = tasks.find((t) => t.id === victim.taskId)!;
        expect(v.recoveries).toBe(1);
        expect(v.attempt).toBe(0);
        expect(v.result).toEqual({ pid: survivor.child.pid!, resumedFrom: 'step-2' });

        expect(await stopWorker(survivor)).toBe(0);
        // Completion is fenced by the lease: no task completes twice.
        const completed = await countEvents(backend, 'task.completed');
        expect(ids.filter((id) => (completed.get(id) ?? 0) > 1)).toEqual([]);
        const bySurvivor = tasks.filter((t) => (t.result as { pid: number }).pid === survivor.child.pid).map((t) => t.id);
        expect(bySurvivor).toContain(victim.taskId);
        expect(bySurvivor.map((id) => completed.get(id))).toEqual(bySurvivor.map(() => 1));
        expect((await countEvents(backend, 'task.recovered')).get(victim.taskId)).toBe(1);
        // Nothing left in the queue: every delivery was acked.
        expect(await backend.queue.depth()).toMatchObject({ ready: 0, leased: 0, delayed: 0 });
        // The audit trail survived the kill: every task's events are unbroken, the victim's included.
        if (backend.capabilities.atomicEvents) {
          const trails = await eventsByTask(backend, ids);
          const broken = ids.map((id) => [id, trailProblems(trails.get(id)!)] as const).filter(([, p]) => p.length > 0);
          expect(broken).toEqual([]);
          const victimTrail = trails.get(victim.taskId)!.map((e) => e.type).filter((t) => t !== 'task.lease_lost');
          expect(victimTrail.slice(0, 5)).toEqual(['task.enqueued', 'task.started', 'task.checkpointed', 'task.checkpointed', 'task.recovered']);
          expect(victimTrail).toContain('task.resumed');
        }
      } finally {
        await producer.close();
      }
    }, 60_000);

    it('three processes draining 300 tasks never start one task twice', async () => {
      const ns = target.namespace();
      namespaces.push(ns);
      const backend = await target.create(ns);
      const producer = createBaton({ backend, logger: silentLogger });
      try {
        const started = Array.from({ length: 3 }, () => startWorker(target, ns, { STALL_MS: '30000' }));
        workers.push(...started);
        await Promise.all(started.map((w) => w.next((m) => m.event === 'ready')));
        const results = await producer.enqueueMany(Array.from({ length: 300 }, (_, i) => ({ type: 'noop', input: { i } as JsonValue })));
        const ids = results.map((r) => r.taskId);
        await waitAllTerminal(backend, ids, 40_000);
        for (const w of started) expect(await stopWorker(w)).toBe(0);
        const starts = await countEvents(backend, 'task.started');
        expect(ids.map((id) => starts.get(id) ?? 0)).toEqual(ids.map(() => 1));
        const completed = await countEvents(backend, 'task.completed');
        expect(ids.map((id) => completed.get(id) ?? 0)).toEqual(ids.map(() => 1));
      } finally {
        await producer.close();
      }
    }, 60_000);

    it('a worker frozen past its lease and thawed after another completed the task: its write is refused, reported once as task.lease_lost and logged with the task id', async () => {
      const ns = target.namespace();
      namespaces.push(ns);
      const backend = await target.create(ns);
      const producer = createBaton({ backend, logger: silentLogger });
      try {
        const a = startWorker(target, ns);
        workers.push(a);
        await a.next((m) => m.event === 'ready');
        const { taskId } = await producer.enqueue('slow', {});
        await a.next((m) => m.event === 'started' && m.taskId === taskId);
        a.child.kill('SIGSTOP');
        const b = startWorker(target, ns);
        workers.push(b);
        await b.next((m) => m.event === 'finished' && m.taskId === taskId, 30_000);
        await waitAllTerminal(backend, [taskId], 20_000);
        const done = (await backend.tasks.get(taskId))!;
        expect(done).toMatchObject({ state: 'completed', result: { pid: b.child.pid!, recoveries: 1 } });
        a.child.kill('SIGCONT');
        const lost = async () => (await backend.events.query({ taskId, type: ['task.lease_lost'], limit: 10 })).filter((e) => e.data.leaseId !== undefined);
        const deadline = Date.now() + 20_000;
        while ((await lost()).length === 0 && Date.now() < deadline) await sleep(100);
        await sleep(500);
        const events = await lost();
        expect(events).toHaveLength(1);
        expect(events[0]!.workerId).not.toBe(done.workerId);
        expect(a.stderr()).toContain(taskId);
        expect(a.stderr()).toMatch(/lease lost/);
        // Fencing held: the stale holder's completion did not overwrite the result.
        expect((await backend.tasks.get(taskId))?.result).toEqual({ pid: b.child.pid!, recoveries: 1 });
      } finally {
        await producer.close();
      }
    }, 90_000);

    it('a SIGKILLed worker does not leak concurrency slots: its leases are reclaimed and the capped queue drains', async () => {
      const ns = target.namespace();
      namespaces.push(ns);
      const backend = await target.create(ns);
      const producer = createBaton({ backend, logger: silentLogger });
      try {
        const a = startWorker(target, ns);
        workers.push(a);
        await a.next((m) => m.event === 'ready');
        const hung = await producer.enqueueMany([0, 1].map((i) => ({ type: 'capped', input: { hang: true, i }, queue: 'capped' })));
        for (const h of hung) await a.next((m) => m.event === 'started' && m.taskId === h.taskId);
        const rest = await producer.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ type: 'capped', input: { i }, queue: 'capped' })));
        await sleep(300);
        // Both slots are held by the hung runs: nothing else of the queue started.
        for (const r of rest) expect((await backend.tasks.get(r.taskId))?.state).toBe('pending');
        a.child.kill('SIGKILL');
        await a.exited;
        const b = startWorker(target, ns);
        workers.push(b);
        const ids = [...hung, ...rest].map((r) => r.taskId);
        await waitAllTerminal(backend, ids, 40_000);
        const tasks = (await backend.tasks.list({ ids, limit: 1000 })).tasks;
        expect(tasks.map((t) => t.state)).toEqual(ids.map(() => 'completed'));
      } finally {
        await producer.close();
      }
    }, 90_000);
  });
}
