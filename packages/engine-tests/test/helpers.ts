// The engine over the memory backend on a FakeClock: a harness per baton, a logger that keeps its
// lines, and backend wrappers that fail, freeze or change what a backend declares.
import { createBaton, type Backend, type Baton, type BatonOptions, type Logger, type NewEvent, type StoredEvent, type TaskRecord } from '@baton/core';
import { FakeClock, memoryBackend, type MemoryBackend } from '@baton/memory';

export interface LogLine {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  msg: string | undefined;
  fields: Record<string, unknown>;
}

/** A Logger that records every line (child bindings merged into its fields). */
export function captureLogger(lines: LogLine[] = [], bindings: Record<string, unknown> = {}): Logger & { lines: LogLine[] } {
  const at =
    (level: LogLine['level']) =>
    (objOrMsg: object | string, msg?: string): void => {
      if (typeof objOrMsg === 'string') lines.push({ level, msg: objOrMsg, fields: { ...bindings } });
      else lines.push({ level, msg, fields: { ...bindings, ...(objOrMsg as Record<string, unknown>) } });
    };
  return {
    lines,
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: (more) => captureLogger(lines, { ...bindings, ...more }),
  };
}

export interface Harness {
  clock: FakeClock;
  /** The memory backend underneath (wrappers included, reads go straight to it). */
  memory: MemoryBackend;
  /** What the baton was given: the memory backend or a wrapper of it. */
  backend: Backend;
  baton: Baton;
  /** Every line the baton logged. */
  logs: LogLine[];
  /** Lets the engine run (advancing fake time in small steps) until `cond` holds. */
  until(cond: () => boolean | Promise<boolean>, what?: string, stepMs?: number, maxSteps?: number): Promise<void>;
  /** A task record, asserting it exists. */
  task(id: string): Promise<TaskRecord>;
  /** The task's events as stored in the memory event log, in order. */
  stored(taskId: string): Promise<StoredEvent[]>;
}

const open = new Set<Harness>();

/**
 * A baton over a memory backend on a FakeClock (fresh, or `shared` with other batons). Closed by
 * `closeAll()` unless `keepOpen` (a baton the test "crashed" stays as it died).
 */
export function harness(options: Partial<BatonOptions> = {}, shared: { clock?: FakeClock; memory?: MemoryBackend; backend?: Backend; keepOpen?: boolean } = {}): Harness {
  const clock = shared.clock ?? new FakeClock();
  const memory = shared.memory ?? memoryBackend({ clock });
  const backend = shared.backend ?? memory;
  const logger = captureLogger();
  const baton = createBaton({ backend, logger, ...options, worker: { pollIntervalMs: 50, concurrency: 4, ...options.worker } });
  const h: Harness = {
    clock,
    memory,
    backend,
    baton,
    logs: logger.lines,
    async until(cond, what = 'condition', stepMs = 10, maxSteps = 2_000) {
      for (let i = 0; i < maxSteps; i++) {
        if (await cond()) return;
        await clock.advance(stepMs);
      }
      throw new Error(`gave up waiting for ${what} after ${maxSteps} steps of ${stepMs} ms`);
    },
    async task(id) {
      const t = await memory.tasks.get(id);
      if (!t) throw new Error(`task ${id} not found`);
      return t;
    },
    async stored(taskId) {
      return memory.events.query({ taskId, limit: 1_000 });
    },
  };
  if (!shared.keepOpen) open.add(h);
  return h;
}

/**
 * Stops every baton made since the last call, then closes them (a shared backend closes with the
 * first close, so every baton stops before any closes). Fake time moves while they stop, so
 * nothing waits on a clock nobody advances.
 */
export async function closeAll(): Promise<void> {
  const all = [...open];
  open.clear();
  const pump = async (p: Promise<unknown>, clock: FakeClock) => {
    let done = false;
    void p.finally(() => (done = true)).catch(() => undefined);
    for (let i = 0; i < 1_000 && !done; i++) await clock.advance(100);
    await p.catch(() => undefined);
  };
  for (const h of all) await pump(h.baton.stop({ deadlineMs: 0 }), h.clock);
  for (const h of all) await pump(h.baton.close({ deadlineMs: 0 }), h.clock);
}

/** A promise with its resolver, for "the handler got this far" signals. */
export function latch<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; done: boolean } {
  let resolve!: (v: T) => void;
  const l = {
    promise: new Promise<T>((r) => (resolve = r)),
    resolve: (v: T) => {
      l.done = true;
      resolve(v);
    },
    done: false,
  };
  return l;
}

/** Event types in order. */
export const types = (events: readonly NewEvent[]): string[] => events.map((e) => e.type);

/** Lines logged at `level` or above that name the task. */
export function linesFor(logs: readonly LogLine[], taskId: string, levels: LogLine['level'][] = ['warn', 'error', 'fatal']): LogLine[] {
  return logs.filter((l) => levels.includes(l.level) && l.fields.taskId === taskId);
}

type AnyFn = (...args: never[]) => unknown;

/** A port whose methods delegate to `inner` (bound to it), except the ones given. */
export function override<T extends object>(inner: T, methods: Partial<T>): T {
  return new Proxy(inner, {
    get(target, prop) {
      if (Object.prototype.hasOwnProperty.call(methods, prop)) return (methods as Record<PropertyKey, unknown>)[prop];
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as AnyFn).bind(target) : v;
    },
  });
}

/**
 * The memory backend behind a switch: once `freeze()` is called, every call the baton makes never
 * settles, and no answer to a call made before reaches it. A frozen baton is a process that died
 * holding its leases (SIGKILL, a VM gone): it neither heartbeats nor releases nor claims.
 */
export function freezable(memory: MemoryBackend): { backend: Backend; freeze(): void } {
  let frozen = false;
  const never = new Promise<never>(() => undefined);
  const wrap = <T extends object>(port: T): T =>
    new Proxy(port, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== 'function') return v;
        return (...args: unknown[]) => {
          if (frozen) return never;
          const out = (v as (...a: unknown[]) => unknown).apply(target, args);
          return out instanceof Promise ? out.then((r: unknown) => (frozen ? never : r)) : out;
        };
      },
    });
  const backend: Backend = {
    ...memory,
    queue: wrap(memory.queue),
    tasks: wrap(memory.tasks),
    checkpoints: wrap(memory.checkpoints),
    timers: wrap(memory.timers),
    heartbeats: wrap(memory.heartbeats),
    events: wrap(memory.events),
    coordination: wrap(memory.coordination),
    ...(memory.flow ? { flow: wrap(memory.flow) } : {}),
  };
  return { backend, freeze: () => void (frozen = true) };
}
