// Baton driven through the harness interface, parametrised by backend (see backends.ts).
// Workers run with defaults apart from the concurrency (and the stall timeout in scenario 6).
// Scenario 8's fleet: one more baton per worker with `worker: { queues }`, and every queue's task
// type registered on each (one codebase split into fleets, as WorkerOptions.queues documents), so a
// task claimed from a queue the worker does not serve would run, and be counted, not be released.
import { createBaton, silentLogger, type Backend, type BackendCapabilities, type Baton, type JsonObject, type TaskSpec } from '@baton/core';
import type { InstrumentMode } from '../config.js';
import type { Payload } from '../payload.js';
import { newNamespace } from '../services.js';
import { RECIPES, loadCore, loadFactories, type BackendRecipe } from './backends.js';
import { makeInstrumentation, type Instrumented } from './instrument.js';
import { ROUTED_QUEUES, type Instance, type JobHandler, type OpenOptions, type RoutedJob, type RoutedQueue, type ScenarioId, type System } from './types.js';

const TYPE = 'bench';
/** Baton's priority for scenario 8's high jobs (higher runs first; normal jobs keep the default 0). */
const HIGH_PRIORITY = 10;
const routedType = (queue: RoutedQueue) => `bench-${queue}`;

/**
 * The same backend for one more baton in this process, for a backend that cannot be shared
 * between processes (memory): that baton's close() leaves it open for its owner to close.
 */
function borrowed(b: Backend): Backend {
  return {
    name: b.name,
    capabilities: b.capabilities,
    queue: b.queue,
    tasks: b.tasks,
    checkpoints: b.checkpoints,
    timers: b.timers,
    heartbeats: b.heartbeats,
    events: b.events,
    coordination: b.coordination,
    ...(b.flow ? { flow: b.flow } : {}),
    ...(b.clock ? { clock: b.clock } : {}),
    ready: (context) => b.ready(context),
    ...(b.check ? { check: () => b.check!() } : {}),
    close: async () => undefined,
  };
}

class BatonInstance implements Instance {
  constructor(
    private readonly baton: Baton,
    private readonly backend: Backend,
    private readonly instrumented: Instrumented,
    /** Scenario 8's workers, in OpenOptions.fleet's order. */
    private readonly fleet: readonly Baton[],
  ) {}

  async enqueue(payload: Payload): Promise<void> {
    await this.baton.enqueue(TYPE, payload as unknown as JsonObject);
  }

  async enqueueBatch(payloads: Payload[]): Promise<void> {
    await this.baton.enqueueMany(payloads.map((p): TaskSpec => ({ type: TYPE, input: p as unknown as JsonObject })));
  }

  async enqueueRouted(jobs: RoutedJob[]): Promise<void> {
    // The producer registers nothing, so each spec names its queue.
    await this.baton.enqueueMany(
      jobs.map((j): TaskSpec => ({ type: routedType(j.queue), input: j.payload as unknown as JsonObject, queue: j.queue, priority: j.priority === 'high' ? HIGH_PRIORITY : 0 })),
    );
  }

  async startWorker(handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void> {
    this.baton.register(TYPE, async (input, ctx) => {
      await handler(input as unknown as Payload, {
        checkpoint: (step, data) => ctx.saveCheckpoint(`step-${step}`, data as JsonObject, { flush: true }),
        restored: ctx.checkpoint?.data ?? null,
      });
      return null;
    });
    this.baton.on('task.completed', (e) => {
      if (e.taskId) onCompleted(e.taskId);
    });
    await this.baton.start();
  }

  async startRoutedWorker(index: number, handler: JobHandler, onCompleted: (jobId: string) => void): Promise<void> {
    const worker = this.fleet[index];
    if (!worker) throw new Error(`No fleet worker ${index}: open() was given ${this.fleet.length}.`);
    for (const queue of ROUTED_QUEUES) {
      worker.register(
        routedType(queue),
        async (input) => {
          await handler(input as unknown as Payload, { restored: null });
          return null;
        },
        { queue },
      );
    }
    worker.on('task.completed', (e) => {
      if (e.taskId) onCompleted(e.taskId);
    });
    await worker.start();
  }

  async stopWorker(): Promise<void> {
    await Promise.all([this.baton, ...this.fleet].map((b) => b.stop({ deadlineMs: 5_000 })));
  }

  // Both measured by the recipe with its own connections (set in makeBatonSystem).
  backendBytes = async (): Promise<number | null> => null;
  backendRecords = async (): Promise<number | null> => null;

  async close(): Promise<void> {
    // Fleet batons first: a borrowed backend stays open until its owner (this.baton) closes it.
    for (const w of this.fleet) await w.close({ deadlineMs: 5_000 });
    await this.baton.close({ deadlineMs: 5_000 });
    const note = await this.instrumented.close();
    if (note && process.env.BENCH_DEBUG) process.stderr.write(`  [debug] ${this.backend.name}: ${note}\n`);
  }

  get name(): string {
    return this.backend.name;
  }
}

const FLEET_SETTINGS =
  '; scenario 8: a task type per named queue (register(type, h, { queue })), enqueueMany with the queue and priority high = 10, normal = 0 (higher first); each fleet worker a baton with worker: { concurrency: 25, queues: its two } and all four types registered, on a backend instance of its own (shared in-process where capabilities.multiProcess is false)';
const INSTRUMENT_LABEL: Record<InstrumentMode, string> = { off: '', noop: ' + OTel no-op', sdk: ' + OTel SDK', sampled: ' + OTel SDK 10 %', prom: ' + Prometheus' };
const INSTRUMENT_SETTINGS: Record<InstrumentMode, string> = {
  off: '',
  noop: '; @baton/otel with no SDK registered (no-op tracer and meter)',
  sdk: '; @baton/otel on a real TracerProvider (BatchSpanProcessor) and MeterProvider (periodic reader, 5 s), discarding exporters, AsyncLocalStorage context manager',
  sampled: '; as OTel SDK, with a parent-based 10 % trace-id ratio sampler (metrics unsampled)',
  prom: '; @baton/prometheus in its own prom-client registry (not scraped during the run)',
};

type Factories = Exclude<Awaited<ReturnType<typeof loadFactories>>, string>;

/** The backend's own declaration, from a throwaway instance on a namespace of its own (removed after). */
async function readCapabilities(recipe: BackendRecipe, factories: Factories): Promise<BackendCapabilities> {
  const ns = newNamespace();
  try {
    const backend = recipe.make(factories, ns, {});
    const capabilities = { ...backend.capabilities };
    await backend.close();
    return capabilities;
  } finally {
    await recipe.destroy(ns, factories);
  }
}

function makeBatonSystem(recipe: BackendRecipe, mode: InstrumentMode = 'off'): System {
  let factories: Awaited<ReturnType<typeof loadFactories>> | null = null;
  let capabilities: BackendCapabilities | null = null;
  return {
    id: mode === 'off' ? recipe.family : `${recipe.family}+${mode}`,
    label: `${recipe.label}${INSTRUMENT_LABEL[mode]}`,
    kind: 'baton',
    family: recipe.family,
    settings: `${recipe.settings}${FLEET_SETTINGS}${INSTRUMENT_SETTINGS[mode]}`,
    async probe() {
      await loadCore();
      factories ??= await loadFactories(recipe);
      if (typeof factories === 'string') return factories;
      const down = await recipe.probeServer();
      if (down) return down;
      capabilities ??= await readCapabilities(recipe, factories);
      return null;
    },
    unsupported(scenario: ScenarioId) {
      // The runner asks only after a successful probe, which read the capabilities.
      if (!capabilities) return 'capabilities unknown: the probe did not run';
      if (scenario === 6 && !capabilities.multiProcess) return 'single-process backend (capabilities.multiProcess is false): nothing survives the killed process';
      return null;
    },
    async open(ns: string, options: OpenOptions): Promise<Instance> {
      await loadCore();
      factories ??= await loadFactories(recipe);
      if (typeof factories === 'string') throw new Error(factories);
      const made = options.stallTimeoutMs ? { stallTimeoutMs: options.stallTimeoutMs } : {};
      const backend = recipe.make(factories, ns, made);
      const instrumented = makeInstrumentation(mode);
      const baton = createBaton({
        backend,
        worker: { concurrency: options.concurrency, ...(options.stallTimeoutMs ? { stallTimeoutMs: options.stallTimeoutMs } : {}) },
        ...(instrumented.instrumentation ? { instrumentation: instrumented.instrumentation } : {}),
      });
      instrumented.observe(baton);
      // Connects, checks and migrates before any timing starts.
      await backend.ready({ logger: silentLogger });
      // Scenario 8: each fleet worker gets a backend of its own, with its own connections, as a
      // separate worker process would — unless the backend cannot be shared between processes
      // (memory), where the workers share this one. Connected before any timing, like the above.
      const fleet: Baton[] = [];
      for (const queues of options.fleet ?? []) {
        const own = backend.capabilities.multiProcess ? recipe.make(factories, ns, made) : borrowed(backend);
        const worker = createBaton({
          backend: own,
          worker: { concurrency: options.concurrency, queues: [...queues] },
          ...(instrumented.instrumentation ? { instrumentation: instrumented.instrumentation } : {}),
        });
        instrumented.observe(worker);
        fleet.push(worker);
        await own.ready({ logger: silentLogger });
      }
      const inst = new BatonInstance(baton, backend, instrumented, fleet);
      inst.backendBytes = () => recipe.bytes(ns);
      inst.backendRecords = () => recipe.records(ns);
      return inst;
    },
    async destroy(ns: string) {
      factories ??= await loadFactories(recipe);
      if (typeof factories === 'string') return; // nothing was created
      await recipe.destroy(ns, factories);
    },
  };
}

export const BATON_SYSTEMS: System[] = RECIPES.map((r) => makeBatonSystem(r));

/** Each backend once per instrumentation mode, the variants of one backend next to each other. */
export function batonSystems(modes: readonly InstrumentMode[]): System[] {
  return RECIPES.flatMap((r) => modes.map((m) => makeBatonSystem(r, m)));
}
