// Test helpers: an in-memory span exporter on a real SDK, the async-hooks context manager (so
// the run span is active inside handlers), a memory backend that can be "killed", and polling.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Backend } from '@baton/core';
import type { MemoryBackend } from '@baton/memory';

export function tracing(): { provider: BasicTracerProvider; exporter: InMemorySpanExporter; spans(): ReadableSpan[] } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { provider, exporter, spans: () => exporter.getFinishedSpans() };
}

/** Installs the AsyncLocalStorage context manager for the file; returns its teardown. */
export function contextManager(): () => void {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  return () => {
    context.disable();
  };
}

/** Polls `cond` (real time) until it holds. */
export async function until<T>(cond: () => T | undefined | false | Promise<T | undefined | false>, what = 'condition', timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The memory backend behind a switch: after `freeze()` no call settles, as for a process that
 * died holding its leases (it neither heartbeats nor releases), while other batons on the same
 * memory backend go on.
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
    close: async () => undefined,
  };
  return { backend, freeze: () => void (frozen = true) };
}
