// Baton driven through the harness interface, parametrised by backend (see backends.ts).
// Workers run with defaults apart from the concurrency (and the stall timeout in scenario 6).
import { createBaton, type Backend, type Baton, type JsonObject, type TaskSpec } from '@baton/core';
import type { Payload } from '../payload.js';
import { RECIPES, loadCore, loadFactories, type BackendRecipe } from './backends.js';
import type { Instance, JobHandler, OpenOptions, ScenarioId, System } from './types.js';

const TYPE = 'bench';

class BatonInstance implements Instance {
  constructor(
    private readonly baton: Baton,
    private readonly backend: Backend,
  ) {}

  async enqueue(payload: Payload): Promise<void> {
    await this.baton.enqueue(TYPE, payload as unknown as JsonObject);
  }

  async enqueueBatch(payloads: Payload[]): Promise<void> {
    await this.baton.enqueueMany(payloads.map((p): TaskSpec => ({ type: TYPE, input: p as unknown as JsonObject })));
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

  async stopWorker(): Promise<void> {
    await this.baton.stop({ deadlineMs: 5_000 });
  }

  // Both measured by the recipe with its own connections (set in makeBatonSystem).
  backendBytes = async (): Promise<number | null> => null;
  backendRecords = async (): Promise<number | null> => null;

  async close(): Promise<void> {
    await this.baton.close({ deadlineMs: 5_000 });
  }

  get name(): string {
    return this.backend.name;
  }
}

function makeBatonSystem(recipe: BackendRecipe): System {
  let factories: Awaited<ReturnType<typeof loadFactories>> | null = null;
  return {
    id: recipe.family,
    label: recipe.label,
    kind: 'baton',
    family: recipe.family,
    settings: recipe.settings,
    async probe() {
      await loadCore();
      factories ??= await loadFactories(recipe);
      if (typeof factories === 'string') return factories;
      return recipe.probeServer();
    },
    unsupported(scenario: ScenarioId) {
      if (scenario === 6 && !recipe.multiProcess) return 'single-process backend: nothing survives the killed process';
      return null;
    },
    async open(ns: string, options: OpenOptions): Promise<Instance> {
      await loadCore();
      factories ??= await loadFactories(recipe);
      if (typeof factories === 'string') throw new Error(factories);
      const backend = recipe.make(factories, ns, options.stallTimeoutMs ? { stallTimeoutMs: options.stallTimeoutMs } : {});
      const baton = createBaton({
        backend,
        worker: { concurrency: options.concurrency, ...(options.stallTimeoutMs ? { stallTimeoutMs: options.stallTimeoutMs } : {}) },
      });
      // Connects and migrates before any timing starts.
      await backend.queue.depth();
      await backend.tasks.counts();
      const inst = new BatonInstance(baton, backend);
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

export const BATON_SYSTEMS: System[] = RECIPES.map(makeBatonSystem);
