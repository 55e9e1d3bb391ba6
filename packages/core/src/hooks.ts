// Runs the instrumentation hooks: several may be installed, each optional, and a hook that
// throws is logged and skipped — observing the work must never break it.
import type { Logger } from './logger.js';
import type { CheckpointInfo, EnqueueInfo, EnqueueScope, HeartbeatInfo, HeartbeatScope, Instrumentation, RunInfo, RunOutcome, RunScope } from './instrumentation.js';

export class Hooks {
  private readonly list: readonly Instrumentation[];

  constructor(
    given: Instrumentation | Instrumentation[] | undefined,
    private readonly logger: Logger,
  ) {
    this.list = given === undefined ? [] : Array.isArray(given) ? given : [given];
  }

  get active(): boolean {
    return this.list.length > 0;
  }

  enqueue(tasks: readonly EnqueueInfo[]): { traceContext: (Record<string, string> | undefined)[]; end(result: { error?: unknown; created?: readonly boolean[] }): void } | null {
    if (this.list.length === 0) return null;
    const scopes: EnqueueScope[] = [];
    const traceContext: (Record<string, string> | undefined)[] = tasks.map(() => undefined);
    for (const h of this.list) {
      const scope = this.call('enqueue', () => h.enqueue?.(tasks));
      if (!scope) continue;
      scopes.push(scope);
      scope.traceContext?.forEach((c, i) => {
        if (c !== undefined && i < traceContext.length) traceContext[i] = { ...traceContext[i], ...c };
      });
    }
    return { traceContext, end: (result) => scopes.forEach((s) => this.call('enqueue.end', () => s.end(result))) };
  }

  run(info: RunInfo): { wrap<T>(fn: () => T): T; end(outcome: RunOutcome): void } | null {
    if (this.list.length === 0) return null;
    const scopes: RunScope[] = [];
    for (const h of this.list) {
      const scope = this.call('run', () => h.run?.(info));
      if (scope) scopes.push(scope);
    }
    return {
      wrap: <T>(fn: () => T): T =>
        scopes.reduce<() => T>((inner, s) => {
          if (!s.wrap) return inner;
          return () => {
            // A wrap that throws before it called the handler is skipped; the handler's own error passes through.
            let called = false;
            const once = () => {
              called = true;
              return inner();
            };
            try {
              return s.wrap!(once);
            } catch (err) {
              if (called) throw err;
              this.logger.warn({ err, hook: 'run.wrap' }, 'an instrumentation hook threw; ignored');
              return inner();
            }
          };
        }, fn)(),
      end: (outcome) => scopes.forEach((s) => this.call('run.end', () => s.end(outcome))),
    };
  }

  checkpoint(info: CheckpointInfo): ((error?: unknown) => void) | undefined {
    if (this.list.length === 0) return undefined;
    const ends: ((error?: unknown) => void)[] = [];
    for (const h of this.list) {
      const scope = this.call('checkpoint', () => h.checkpoint?.(info));
      if (scope) ends.push((e) => scope.end(e));
    }
    return (error) => ends.forEach((end) => this.call('checkpoint.end', () => end(error)));
  }

  heartbeat(info: HeartbeatInfo): ((result: { error?: unknown; lost?: readonly string[] }) => void) | undefined {
    if (this.list.length === 0) return undefined;
    const scopes: HeartbeatScope[] = [];
    for (const h of this.list) {
      const scope = this.call('heartbeat', () => h.heartbeat?.(info));
      if (scope) scopes.push(scope);
    }
    return (result) => scopes.forEach((s) => this.call('heartbeat.end', () => s.end(result)));
  }

  private call<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.logger.warn({ err, hook: what }, 'an instrumentation hook threw; ignored');
      return undefined;
    }
  }
}
