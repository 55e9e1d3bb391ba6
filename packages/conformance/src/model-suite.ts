// Model-based tests (fast-check): random sequences of enqueue / claim / checkpoint / heartbeat /
// crash / clock advance + reclaim / finish, run against a fresh backend and, step by step, against
// a small reference model of what the ports must answer. After each sequence everything left is
// drained and the store is checked against the model: no task lost, none completed twice, every
// write of a stale lease holder refused, recoveries counted, the last accepted checkpoint kept.
// On failure fast-check shrinks the sequence and reports it (with its seed) in the error.
import { describe, expect, it } from 'vitest';
import fc, { type AsyncCommand } from 'fast-check';
import { composeFlow, silentLogger, transitions, type Backend, type Clock, type RecoverItem, type RecoverResult, type StartResult, type StoredError, type TaskFlow } from '@baton/core/adapter';
import { bytesEqual, jsonBlob, newTask, sleep, type ConformanceTarget } from './harness.js';

export interface ModelSuiteOptions<B extends Backend = Backend> {
  /** Random sequences to run, each on a fresh backend. @default 100 with a controllable clock, 15 on real time */
  numRuns?: number;
  /** Most commands in one sequence (before the final drain). @default 40 with a controllable clock, 25 on real time */
  maxCommands?: number;
  /** Lease of every claim and heartbeat, in ms. @default 100 */
  leaseMs?: number;
  /**
   * Moves the backend clock forward by `ms`. Default: `backend.clock.advance(ms)` when the backend's
   * clock has one (the memory backend with a `FakeClock`), else a real sleep of `ms` plus
   * `realClockMarginMs`. With a controllable clock (either of the first two) the sequences also
   * advance by part of a lease, so some leases expire and others do not.
   */
  advance?: (backend: B, ms: number) => Promise<void>;
  /** Added to each real sleep past the lease, so every lease has expired by the backend clock. @default 50 */
  realClockMarginMs?: number;
  /**
   * fast-check starts no new sequence (nor shrink) after this long. A failure found by then is
   * reported with the smallest sequence reached; without one, the test passes with the sequences
   * it ran. The vitest timeout is this plus 60 s. @default 90_000
   */
  timeLimitMs?: number;
  /** Replays a reported failure: the `seed` fast-check printed (with `path` and `replayPath`). */
  seed?: number;
  /** The `path` of a reported failure, to replay just its smallest counterexample (with `seed`). */
  path?: string;
  /** The `replayPath` printed after the counterexample's commands, with `seed` and `path`. */
  replayPath?: string;
}

const QUEUE = 'model';
const WORKERS = 3;
/**
 * Most tasks one sequence enqueues: claims, reclaims and stale holders are what is interesting,
 * not volume, and with few tasks a reclaimed one is soon claimed again while its old holder lives.
 */
const MAX_TASKS = 6;
/**
 * A partial clock advance, as a fraction of the lease; a full one is the lease + 1 ms. With the
 * default 100 ms lease no sum of 37s and 101s lands exactly on an expiry, so no lease is ever
 * checked at the very millisecond it runs out.
 */
const PARTIAL_FRACTION = 0.37;

type TaskState = 'pending' | 'running' | 'completed' | 'dead';

interface ModelTask {
  id: string;
  state: TaskState;
  /** The lease (index into `leases`) the record runs under; null unless running. */
  lease: number | null;
  /** The task's delivery: none (acked or removed), ready, or leased under `deliveryLease`. */
  delivery: 'ready' | 'leased' | 'none';
  deliveryLease: number | null;
  recoveries: number;
  /** The lease whose `finish(completed)` applied. */
  completedBy: number | null;
  /** The last accepted checkpoint save. */
  checkpoint: { token: string; data: { task: number; save: number } } | null;
  /** Poison pill written when the task went dead. */
  poisonPill: StoredError | null;
}

interface ModelLease {
  leaseId: string;
  task: number;
  worker: number;
  /** Model time the delivery lease runs out. */
  expiresAt: number;
}

/** The reference: what the store holds and what each worker believes it holds. */
class Model {
  now = 0;
  saves = 0;
  readonly tasks: ModelTask[] = [];
  readonly leases: ModelLease[] = [];
  /** Leases each worker believes it holds (indexes into `leases`), in claim order. */
  readonly held: number[][] = Array.from({ length: WORKERS }, () => []);
  readonly byTaskId = new Map<string, number>();

  constructor(
    readonly maxRecoveries: number,
    readonly leaseMs: number,
  ) {}

  /** The record runs under `lease`: the TaskStore and CheckpointStore apply its holder's writes. */
  runsUnder(lease: number): boolean {
    const t = this.tasks[this.leases[lease]!.task]!;
    return t.state === 'running' && t.lease === lease;
  }

  /** The record runs under `lease` and the delivery is still leased under it: a heartbeat (extend, then tasks.heartbeat) holds. */
  holds(lease: number): boolean {
    const t = this.tasks[this.leases[lease]!.task]!;
    return this.runsUnder(lease) && t.delivery === 'leased' && t.deliveryLease === lease;
  }

  /**
   * What `tasks.recover` of `lease` does, applied to the model: the task back to pending with one
   * more recovery, or dead as a poison pill past maxRecoveries; skipped unless it runs under `lease`.
   */
  recover(lease: number, poisonPill: StoredError): RecoverResult {
    if (!this.runsUnder(lease)) return 'skipped';
    const t = this.tasks[this.leases[lease]!.task]!;
    t.recoveries += 1;
    t.lease = null;
    if (t.recoveries > this.maxRecoveries) {
      Object.assign(t, { state: 'dead', poisonPill } satisfies Partial<ModelTask>);
      return 'dead';
    }
    t.state = 'pending';
    return 'recovered';
  }

  ready(): number[] {
    return this.tasks.flatMap((t, i) => (t.delivery === 'ready' ? [i] : []));
  }

  describeLease(lease: number): string {
    const l = this.leases[lease]!;
    return `lease #${lease} (task #${l.task}, ${l.worker < 0 ? 'drain' : `w${l.worker}`})`;
  }
}

interface Real {
  b: Backend;
  flow: TaskFlow;
  advance(ms: number): Promise<void>;
  /** Applied `finish(completed)` answers per task id, counted from the store's answers alone. */
  completions: Map<string, number>;
}

type Cmd = AsyncCommand<Model, Real>;

function flowOf(b: Backend): TaskFlow {
  return b.flow ?? composeFlow(b, silentLogger);
}

/** A clock the test moves (the memory backend's `FakeClock`). */
interface AdvanceableClock extends Clock {
  advance(ms: number): Promise<void>;
}

function controllableAdvance(clock: Clock | undefined): ((ms: number) => Promise<void>) | undefined {
  if (clock === undefined || typeof (clock as Partial<AdvanceableClock>).advance !== 'function') return undefined;
  const c = clock as AdvanceableClock;
  return (ms) => c.advance(ms);
}

/** Compares the fields of the stored record the model tracks. */
async function checkRecord(m: Model, r: Real, i: number, step: string): Promise<void> {
  const t = m.tasks[i]!;
  const rec = await r.b.tasks.get(t.id);
  expect(rec, `${step}: task #${i} is stored`).not.toBeNull();
  expect(
    { state: rec!.state, leaseId: rec!.leaseId, recoveries: rec!.recoveries, hasCheckpoint: rec!.hasCheckpoint },
    `${step}: stored task #${i}`,
  ).toEqual({ state: t.state, leaseId: t.lease === null ? null : m.leases[t.lease]!.leaseId, recoveries: t.recoveries, hasCheckpoint: t.checkpoint !== null });
}

async function checkCheckpoint(m: Model, r: Real, i: number, step: string): Promise<void> {
  const t = m.tasks[i]!;
  const cp = await r.b.checkpoints.load(t.id);
  if (t.checkpoint === null) {
    expect(cp, `${step}: task #${i} has no checkpoint (no save was accepted)`).toBeNull();
    return;
  }
  expect(cp?.token, `${step}: checkpoint of task #${i} is the last accepted save`).toBe(t.checkpoint.token);
  expect(bytesEqual(cp!.body, jsonBlob(t.checkpoint.token, t.checkpoint.data).body), `${step}: checkpoint bytes of task #${i}`).toBe(true);
}

class EnqueueCmd implements Cmd {
  constructor(readonly k: number) {}
  check(m: Readonly<Model>): boolean {
    return m.tasks.length < MAX_TASKS;
  }
  async run(m: Model, r: Real): Promise<void> {
    const tasks = Array.from({ length: this.k }, () => newTask({ queue: QUEUE, type: 'model' }));
    const created = await r.flow.createAndEnqueue(tasks, tasks.map(() => undefined));
    expect(created, `${this.toString()}: created`).toEqual(tasks.map((t) => ({ id: t.id, duplicate: false })));
    for (const t of tasks) {
      m.byTaskId.set(t.id, m.tasks.length);
      m.tasks.push({ id: t.id, state: 'pending', lease: null, delivery: 'ready', deliveryLease: null, recoveries: 0, completedBy: null, checkpoint: null, poisonPill: null });
    }
  }
  toString(): string {
    return `enqueue(${this.k})`;
  }
}

/**
 * claimAndStart, then what a worker does with each delivery (as core's WorkerPool): a pending task
 * is started; a finished one's delivery is acked; a task still running under a stale lease (its
 * delivery was reclaimed but it was never recovered) is recovered under that lease and started
 * under the new one, or acked if that made it dead. Returns the tasks started.
 */
async function claim(m: Model, r: Real, worker: number, limit: number, workerId: string, step: string): Promise<number[]> {
  const ready = new Set(m.ready());
  const got = await r.flow.claimAndStart({ queues: [QUEUE], limit, leaseMs: m.leaseMs, waitMs: 0 }, workerId, false);
  expect(got.length, `${step}: claimed at most min(limit, ready deliveries ${ready.size})`).toBeLessThanOrEqual(Math.min(limit, ready.size));
  const touched: number[] = [];
  const started: number[] = [];
  for (const { delivery, start } of got) {
    const i = m.byTaskId.get(delivery.taskId);
    expect(i, `${step}: claimed task ${delivery.taskId} is one of ours`).toBeDefined();
    expect(ready.has(i!), `${step}: task #${i} had a ready delivery (not leased, acked or removed)`).toBe(true);
    ready.delete(i!);
    touched.push(i!);
    expect(
      m.leases.some((l) => l.leaseId === delivery.leaseId),
      `${step}: lease ${delivery.leaseId} is fresh`,
    ).toBe(false);
    const t = m.tasks[i!]!;
    const lease = m.leases.length;
    m.leases.push({ leaseId: delivery.leaseId, task: i!, worker, expiresAt: m.now + m.leaseMs });
    Object.assign(t, { delivery: 'leased', deliveryLease: lease } satisfies Partial<ModelTask>);
    let run: StartResult | undefined = start;
    const takeover = t.state === 'running';
    if (takeover) {
      // Takeover: the record still runs under the lease whose delivery was reclaimed.
      const stale = t.lease!;
      expect(
        start.task === null ? { state: start.state, leaseId: start.leaseId } : start,
        `${step}: start of task #${i}, still running under ${m.describeLease(stale)}, is refused with that lease`,
      ).toEqual({ state: 'running', leaseId: m.leases[stale]!.leaseId });
      const poisonPill = transitions.poisonPillError(t.id, m.maxRecoveries + 1, m.maxRecoveries);
      const expected = m.recover(stale, poisonPill);
      const [result] = await r.b.tasks.recover([{ taskId: t.id, leaseId: m.leases[stale]!.leaseId, poisonPill }], m.maxRecoveries);
      expect(result, `${step}: takeover of task #${i}: recover ${m.describeLease(stale)} (maxRecoveries ${m.maxRecoveries})`).toBe(expected);
      run = expected === 'recovered' ? (await r.b.tasks.start([{ taskId: t.id, leaseId: delivery.leaseId, workerId }]))[0] : undefined;
    }
    if (t.state === 'pending') {
      expect(run?.task, `${step}: task #${i} started (it was pending), got ${JSON.stringify(run)}`).toBeTruthy();
      expect(
        { state: run!.task!.state, leaseId: run!.task!.leaseId, workerId: run!.task!.workerId, recoveries: run!.task!.recoveries },
        `${step}: started task #${i}`,
      ).toEqual({ state: 'running', leaseId: delivery.leaseId, workerId, recoveries: t.recoveries });
      Object.assign(t, { state: 'running', lease } satisfies Partial<ModelTask>);
      if (worker >= 0) m.held[worker]!.push(lease);
      started.push(i!);
      continue;
    }
    // Finished (completed by a stale holder, or dead): the claimer drops the delivery.
    if (!takeover) {
      expect(start.task === null ? { state: start.state } : start, `${step}: start of finished task #${i} is refused`).toEqual({ state: t.state });
    }
    expect(await r.b.queue.ack([delivery]), `${step}: ack the delivery of finished task #${i}`).toEqual([true]);
    Object.assign(t, { delivery: 'none', deliveryLease: null } satisfies Partial<ModelTask>);
  }
  for (const i of touched) await checkRecord(m, r, i, step);
  return started;
}

class ClaimCmd implements Cmd {
  constructor(
    readonly worker: number,
    readonly limit: number,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    await claim(m, r, this.worker, this.limit, `model-w${this.worker}`, this.toString());
  }
  toString(): string {
    return `claim(w${this.worker}, limit ${this.limit})`;
  }
}

/** Every lease some worker believes it holds, as [worker, lease], in worker then claim order. */
const heldLeases = (m: Readonly<Model>): [number, number][] => m.held.flatMap((leases, w) => leases.map((lease): [number, number] => [w, lease]));

/**
 * The n-th of the held leases; with `stale`, of those whose task no longer runs under them (a
 * zombie's), when there are any, so stale holders write often enough to be caught if let through.
 */
function pickHeld(m: Readonly<Model>, n: number, stale: boolean): [number, number] {
  const all = heldLeases(m);
  const zombies = stale ? all.filter(([, lease]) => !m.runsUnder(lease)) : [];
  const from = zombies.length > 0 ? zombies : all;
  return from[n % from.length]!;
}

/** The workers that believe they hold a lease. */
const holders = (m: Readonly<Model>): number[] => m.held.flatMap((leases, w) => (leases.length > 0 ? [w] : []));

/** A worker saves a checkpoint for one of the leases it holds (see `pickHeld`). */
class CheckpointCmd implements Cmd {
  constructor(
    readonly n: number,
    readonly stale: boolean,
  ) {}
  check(m: Readonly<Model>): boolean {
    return heldLeases(m).length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const [, lease] = pickHeld(m, this.n, this.stale);
    const l = m.leases[lease]!;
    const t = m.tasks[l.task]!;
    const save = ++m.saves;
    const data = { task: l.task, save };
    const token = `t${l.task}-s${save}`;
    const expected = m.runsUnder(lease);
    const step = `${this.toString()} → save ${token} under ${m.describeLease(lease)}`;
    const ok = await r.b.checkpoints.save(t.id, l.leaseId, jsonBlob(token, data));
    expect(ok, `${step}: accepted iff the task runs under the lease (${expected ? 'it does' : 'stale'})`).toBe(expected);
    if (expected) t.checkpoint = { token, data };
    await checkCheckpoint(m, r, l.task, step);
    await checkRecord(m, r, l.task, step);
  }
  toString(): string {
    return `checkpoint(${this.stale ? 'stale' : 'any'} held lease ${this.n})`;
  }
}

/** A worker holding leases heartbeats all of them in one call (the n-th such worker); then the TaskStore alone. */
class HeartbeatCmd implements Cmd {
  constructor(readonly n: number) {}
  check(m: Readonly<Model>): boolean {
    return holders(m).length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const ws = holders(m);
    const worker = ws[this.n % ws.length]!;
    const step = `${this.toString()} → w${worker}`;
    const held = [...m.held[worker]!];
    const refs = held.map((lease) => ({ taskId: m.tasks[m.leases[lease]!.task]!.id, leaseId: m.leases[lease]!.leaseId }));
    const expected = held.map((lease) => m.holds(lease));
    const got = await r.flow.heartbeat(refs, m.leaseMs);
    expect(got, `${step}: per held lease [${held.map((l) => m.describeLease(l)).join(', ')}], true iff task and delivery are still under it`).toEqual(expected);
    held.forEach((lease, i) => {
      if (expected[i]) m.leases[lease]!.expiresAt = m.now + m.leaseMs;
    });
    // The TaskStore's own fence, which the flow's extend would otherwise hide: true iff the record runs under the lease.
    const beat = await r.b.tasks.heartbeat(refs);
    expect(beat, `${step}: tasks.heartbeat alone, per held lease: true iff the task runs under it`).toEqual(held.map((lease) => m.runsUnder(lease)));
    for (const lease of held) await checkRecord(m, r, m.leases[lease]!.task, step);
  }
  toString(): string {
    return `heartbeat(holder ${this.n})`;
  }
}

/** A worker holding leases dies (the n-th such worker): it forgets its leases; nothing reaches the store. */
class CrashCmd implements Cmd {
  constructor(readonly n: number) {}
  check(m: Readonly<Model>): boolean {
    return holders(m).length > 0;
  }
  async run(m: Model): Promise<void> {
    const ws = holders(m);
    m.held[ws[this.n % ws.length]!] = [];
  }
  toString(): string {
    return `crash(holder ${this.n})`;
  }
}

/** A worker completes the task of one of the leases it holds (see `pickHeld`) and forgets the lease. */
class FinishCmd implements Cmd {
  constructor(
    readonly n: number,
    readonly stale: boolean,
  ) {}
  check(m: Readonly<Model>): boolean {
    return heldLeases(m).length > 0;
  }
  async run(m: Model, r: Real): Promise<void> {
    const [worker, lease] = pickHeld(m, this.n, this.stale);
    await finish(m, r, lease, `${this.toString()} → finish under ${m.describeLease(lease)}`);
    m.held[worker] = m.held[worker]!.filter((x) => x !== lease);
  }
  toString(): string {
    return `finish(${this.stale ? 'stale' : 'any'} held lease ${this.n})`;
  }
}

async function finish(m: Model, r: Real, lease: number, step: string): Promise<void> {
  const l = m.leases[lease]!;
  const t = m.tasks[l.task]!;
  const expected = m.runsUnder(lease);
  const [applied] = await r.flow.finishAndSettle([
    { outcome: { taskId: t.id, leaseId: l.leaseId, state: 'completed', result: { lease }, durationMs: 1 }, queue: 'ack', deleteCheckpoint: false },
  ]);
  expect(applied, `${step}: applied iff the task runs under the lease (${expected ? 'it does' : 'stale'})`).toBe(expected);
  if (applied) r.completions.set(t.id, (r.completions.get(t.id) ?? 0) + 1);
  expect(r.completions.get(t.id) ?? 0, `${step}: task #${l.task} completed at most once`).toBeLessThanOrEqual(1);
  if (expected) {
    Object.assign(t, { state: 'completed', lease: null, completedBy: lease } satisfies Partial<ModelTask>);
    // The ack applies only to a delivery still leased under this lease (not one reclaimed meanwhile).
    if (t.deliveryLease === lease) Object.assign(t, { delivery: 'none', deliveryLease: null } satisfies Partial<ModelTask>);
  }
  await checkRecord(m, r, l.task, step);
}

/**
 * How the supervisor's pass goes after reclaimExpired: it recovers what was reported, once or twice
 * (as two supervisors would), or never (it died in between: the tasks stay running under leases
 * whose deliveries are ready again, and the next claimer takes them over).
 */
type Recovery = 'once' | 'twice' | 'never';

/**
 * The supervisor's pass: reclaimExpired until empty (exactly the expired leases the model has),
 * then recover what it reported and remove the deliveries of tasks that went dead.
 */
async function reclaim(m: Model, r: Real, recovery: Recovery, step: string): Promise<void> {
  const reported = new Map<string, { taskId: string; leaseId: string }>();
  for (let i = 0; i < 50; i++) {
    const got = await r.b.queue.reclaimExpired(100);
    if (got.length === 0) break;
    for (const ref of got) reported.set(`${ref.taskId} ${ref.leaseId}`, ref);
  }
  const expectedLeases = m.leases.flatMap((l, lease) => {
    const t = m.tasks[l.task]!;
    return t.delivery === 'leased' && t.deliveryLease === lease && l.expiresAt <= m.now ? [lease] : [];
  });
  const sorted = (refs: Iterable<string>) => [...refs].sort();
  expect(
    sorted(reported.keys()),
    `${step}: reclaimExpired reports exactly the expired leases [${expectedLeases.map((l) => m.describeLease(l)).join(', ')}]`,
  ).toEqual(sorted(expectedLeases.map((lease) => `${m.tasks[m.leases[lease]!.task]!.id} ${m.leases[lease]!.leaseId}`)));
  const leases = [...reported.values()].map((ref) => m.leases.findIndex((l) => l.leaseId === ref.leaseId));
  for (const lease of leases) Object.assign(m.tasks[m.leases[lease]!.task]!, { delivery: 'ready', deliveryLease: null } satisfies Partial<ModelTask>);
  if (leases.length === 0) return;
  if (recovery !== 'never') await recoverReported(m, r, leases, recovery, step);
  for (const lease of leases) await checkRecord(m, r, m.leases[lease]!.task, step);
}

/** Recovers the reported leases (twice: as two supervisors would), then removes the deliveries of poison pills. */
async function recoverReported(m: Model, r: Real, leases: number[], recovery: 'once' | 'twice', step: string): Promise<void> {

  const items: RecoverItem[] = leases.map((lease) => {
    const taskId = m.tasks[m.leases[lease]!.task]!.id;
    return { taskId, leaseId: m.leases[lease]!.leaseId, poisonPill: transitions.poisonPillError(taskId, m.maxRecoveries + 1, m.maxRecoveries) };
  });
  const dead: number[] = [];
  for (let pass = 0; pass < (recovery === 'twice' ? 2 : 1); pass++) {
    // What the model says each item does, applied in order.
    const expected: RecoverResult[] = leases.map((lease, k) => {
      const result = m.recover(lease, items[k]!.poisonPill);
      if (result === 'dead') dead.push(m.leases[lease]!.task);
      return result;
    });
    const got = await r.b.tasks.recover(items, m.maxRecoveries);
    expect(got, `${step}: recover #${pass + 1} of [${leases.map((l) => m.describeLease(l)).join(', ')}] (maxRecoveries ${m.maxRecoveries})`).toEqual(expected);
  }
  if (dead.length > 0) {
    // As core's supervisor does. A store that keeps the delivery in the task row may already have
    // dropped it with the recover, so only "at most" is checked here; the drain checks none is left.
    const removed = await r.b.queue.remove(dead.map((i) => m.tasks[i]!.id));
    expect(removed, `${step}: remove the deliveries of the poison pills`).toBeLessThanOrEqual(dead.length);
    for (const i of dead) Object.assign(m.tasks[i]!, { delivery: 'none', deliveryLease: null } satisfies Partial<ModelTask>);
  }
}

class AdvanceCmd implements Cmd {
  constructor(
    readonly full: boolean,
    readonly recovery: Recovery,
  ) {}
  check(): boolean {
    return true;
  }
  async run(m: Model, r: Real): Promise<void> {
    const ms = this.full ? m.leaseMs + 1 : Math.round(m.leaseMs * PARTIAL_FRACTION);
    await r.advance(ms);
    m.now += ms;
    await reclaim(m, r, this.recovery, this.toString());
  }
  toString(): string {
    const recovery = { once: 'recover', twice: 'recover twice', never: 'supervisor dies before recover' }[this.recovery];
    return `advance(${this.full ? 'past the lease' : 'part of a lease'})+reclaim, ${recovery}`;
  }
}

/** Everything left is reclaimed, claimed and completed; then the store must be exactly the model. */
async function drainAndCheck(m: Model, r: Real, realClock: boolean): Promise<void> {
  await r.advance(m.leaseMs + 1);
  m.now += m.leaseMs + 1;
  await reclaim(m, r, 'once', 'drain: advance+reclaim');
  const held = m.tasks.flatMap((t, i) => (t.state === 'running' && t.delivery !== 'ready' ? [i] : []));
  expect(held, 'model: after a reclaim past every lease, a task still running has a ready delivery (to be taken over)').toEqual([]);
  for (let round = 0; round < 100 && m.ready().length > 0; round++) {
    const claimed = await claim(m, r, -1, 10, 'model-drain', `drain: claim (round ${round})`);
    for (const i of claimed) await finish(m, r, m.tasks[i]!.lease!, `drain: finish task #${i}`);
    if (claimed.length === 0 && realClock) await sleep(20);
  }
  const lost = m.tasks.flatMap((t, i) => (t.state === 'pending' || t.state === 'running' ? [`#${i} ${t.id}`] : []));
  expect(lost, 'drain: no lost task (every unfinished task was delivered again and completed)').toEqual([]);

  // Every lease ever handed out is stale now: each of its holder's writes must be refused.
  const refs = m.leases.map((l) => ({ taskId: m.tasks[l.task]!.id, leaseId: l.leaseId }));
  if (refs.length > 0) {
    expect(await r.flow.heartbeat(refs, m.leaseMs), 'fencing: heartbeats of stale leases').toEqual(refs.map(() => false));
    expect(await r.b.tasks.heartbeat(refs), 'fencing: TaskStore heartbeats of stale leases').toEqual(refs.map(() => false));
    expect(await r.b.queue.extend(refs, m.leaseMs), 'fencing: extends of stale leases').toEqual(refs.map(() => false));
    const saved = [];
    for (const ref of refs) saved.push(await r.b.checkpoints.save(ref.taskId, ref.leaseId, jsonBlob('stale', { stale: true })));
    expect(saved, 'fencing: checkpoint saves of stale leases').toEqual(refs.map(() => false));
    const finished = await r.flow.finishAndSettle(refs.map((ref) => ({ outcome: { ...ref, state: 'completed', result: 'stale' }, queue: 'ack', deleteCheckpoint: true })));
    expect(finished, 'fencing: finishes of stale leases').toEqual(refs.map(() => false));
    const poisonPill = transitions.poisonPillError('stale', 1, 0);
    expect(await r.b.tasks.recover(refs.map((ref) => ({ ...ref, poisonPill })), 0), 'fencing: recoveries of stale leases').toEqual(refs.map(() => 'skipped'));
  }

  for (let i = 0; i < m.tasks.length; i++) {
    const t = m.tasks[i]!;
    const step = `final: task #${i}`;
    expect(['completed', 'dead'], `${step}: ends completed or dead`).toContain(t.state);
    await checkRecord(m, r, i, step);
    await checkCheckpoint(m, r, i, step);
    const rec = (await r.b.tasks.get(t.id))!;
    if (t.state === 'completed') {
      expect(rec.result, `${step}: the result of the one finish that applied`).toEqual({ lease: t.completedBy });
      expect(rec.error, `${step}: no error`).toBeNull();
      expect(r.completions.get(t.id), `${step}: completed exactly once`).toBe(1);
    } else {
      expect(rec.error, `${step}: dead as a poison pill after ${t.recoveries} recoveries`).toEqual(t.poisonPill);
      expect(r.completions.get(t.id) ?? 0, `${step}: never completed`).toBe(0);
    }
  }
  expect(await r.b.queue.depth(), 'final: no delivery left in the queue').toEqual({ ready: 0, leased: 0, expired: 0, delayed: 0 });
}

/**
 * Registers one test that runs `numRuns` random command sequences against fresh backends from
 * `target`, each checked step by step against a reference model and drained at the end.
 */
export function runModelSuite<B extends Backend>(target: ConformanceTarget<B>, options: ModelSuiteOptions<B> = {}): void {
  const timeLimitMs = options.timeLimitMs ?? 90_000;
  const leaseMs = options.leaseMs ?? 100;
  const margin = options.realClockMarginMs ?? 50;

  async function withBackend<T>(fn: (b: B) => Promise<T>): Promise<T> {
    const b = await target.create();
    try {
      await b.ready({ logger: silentLogger });
      return await fn(b);
    } finally {
      try {
        await b.close();
      } finally {
        await target.destroy?.(b);
      }
    }
  }

  describe(`model: ${target.name}`, () => {
    it(
      'random enqueue/claim/checkpoint/heartbeat/crash/advance+reclaim/finish sequences match the reference model; drained, nothing is lost or completed twice',
      async () => {
        const controllable = options.advance !== undefined || (await withBackend(async (b) => controllableAdvance(b.clock) !== undefined));
        const advanceOf = (b: B): ((ms: number) => Promise<void>) =>
          options.advance !== undefined ? (ms) => options.advance!(b, ms) : (controllableAdvance(b.clock) ?? ((ms) => sleep(ms + margin)));

        const worker = fc.nat({ max: WORKERS - 1 });
        const nth = fc.nat(11);
        const enqueue = fc.integer({ min: 1, max: 2 }).map((k) => new EnqueueCmd(k));
        const claim = fc.tuple(worker, fc.integer({ min: 1, max: 3 })).map(([w, n]) => new ClaimCmd(w, n));
        const checkpoint = fc.tuple(nth, fc.boolean()).map(([n, stale]) => new CheckpointCmd(n, stale));
        const finish = fc.tuple(nth, fc.boolean()).map(([n, stale]) => new FinishCmd(n, stale));
        const recovery = fc.oneof({ arbitrary: fc.constant<Recovery>('once'), weight: 3 }, fc.constant<Recovery>('twice'), fc.constant<Recovery>('never'));
        const advance = fc.tuple(controllable ? fc.boolean() : fc.constant(true), recovery).map(([full, rec]) => new AdvanceCmd(full, rec));
        // Repeated arbitraries weigh the choice (fast-check picks among them uniformly): claims
        // and advances often, so tasks change hands while their old holders still write.
        const commands = fc.commands<Model, Real, false>(
          [enqueue, claim, claim, claim, checkpoint, checkpoint, nth.map((n) => new HeartbeatCmd(n)), nth.map((n) => new CrashCmd(n)), advance, advance, finish, finish],
          {
            maxCommands: options.maxCommands ?? (controllable ? 40 : 25),
            size: 'max',
            ...(options.replayPath === undefined ? {} : { replayPath: options.replayPath }),
          },
        );

        // Unbiased: fast-check's bias towards small values would make most sequences a handful of commands.
        const property = fc.asyncProperty(fc.record({ maxRecoveries: fc.integer({ min: 0, max: 3 }) }), fc.noBias(commands), async ({ maxRecoveries }, cmds) => {
          await withBackend(async (b) => {
            const model = new Model(maxRecoveries, leaseMs);
            const real: Real = { b, flow: flowOf(b), advance: advanceOf(b), completions: new Map() };
            await fc.asyncModelRun(() => ({ model, real }), cmds);
            await drainAndCheck(model, real, !controllable);
          });
        });

        await fc.assert(property, {
          numRuns: options.numRuns ?? (controllable ? 100 : 15),
          plugins: [fc.interruptAfterTimeLimit(timeLimitMs)],
          ...(options.seed === undefined ? {} : { seed: options.seed }),
          ...(options.path === undefined ? {} : { path: options.path }),
        });
      },
      timeLimitMs + 60_000,
    );
  });
}
