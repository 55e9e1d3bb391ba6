// @baton/otel: OpenTelemetry for Baton. One Instrumentation for `createBaton({ instrumentation })`
// that traces enqueues and runs (linked across processes and crashes through the W3C context
// stored on each task) and reports Baton's metrics (defined once in @baton/metrics) through the
// OTel metrics API. Only @opentelemetry/api is needed: bring your own SDK and exporters.
import { metrics as otelMetrics, type MeterProvider } from '@opentelemetry/api';
import type { Baton, CheckpointInfo, EnqueueInfo, EnqueueScope, HeartbeatInfo, HeartbeatScope, Instrumentation, RunInfo, RunOutcome, RunScope } from '@baton/core';
import { BatonMetrics, type CollectorOptions, type ObservedBaton } from '@baton/metrics';
import { otelSink } from './otel-sink.js';
import { BatonTracing, INSTRUMENTATION_NAME, type TracingOptions } from './tracing.js';
import { VERSION } from './version.js';

export { BatonTracing, INSTRUMENTATION_NAME } from './tracing.js';
export type { TracingOptions } from './tracing.js';
export { injectContext, extractContext } from './propagation.js';
export { otelSink } from './otel-sink.js';
export { VERSION } from './version.js';
export { METRICS, METRIC_LIST, DURATION_BUCKETS, SIZE_BUCKETS } from '@baton/metrics';
export type { CollectorOptions, MetricDefinition, ObservedBaton } from '@baton/metrics';

export interface OtelOptions extends TracingOptions {
  /**
   * Where the metrics go. @default the global meter provider at the time of this call — create
   * the instrumentation after your SDK registered its provider, or pass it here.
   */
  meterProvider?: MeterProvider;
  /** Report Baton's metrics (false: tracing only). @default true */
  metrics?: boolean | CollectorOptions;
}

// One of these is made per enqueue call / per run: classes, so no closures are allocated per task.
class BothEnqueue implements EnqueueScope {
  readonly traceContext: EnqueueScope['traceContext'];

  constructor(
    private readonly traced: EnqueueScope,
    private readonly counted: EnqueueScope,
  ) {
    this.traceContext = traced.traceContext;
  }

  end(result: { error?: unknown; created?: readonly boolean[] }): void {
    this.traced.end(result);
    this.counted.end(result);
  }
}

class BothRun implements RunScope {
  constructor(
    private readonly traced: RunScope,
    private readonly counted: RunScope,
  ) {}

  wrap<T>(fn: () => T): T {
    return this.traced.wrap ? this.traced.wrap(fn) : fn();
  }

  end(outcome: RunOutcome): void {
    this.traced.end(outcome);
    this.counted.end(outcome);
  }
}

/** Tracing and metrics of Baton in one Instrumentation; `observe(baton)` adds what only events and stats tell. */
export class OtelInstrumentation implements Instrumentation {
  readonly tracing: BatonTracing;
  /** null when created with `metrics: false`. */
  readonly metrics: BatonMetrics | null;

  constructor(options: OtelOptions = {}) {
    this.tracing = new BatonTracing(options);
    const metricOptions = options.metrics ?? true;
    if (metricOptions === false) this.metrics = null;
    else {
      const meter = (options.meterProvider ?? otelMetrics.getMeterProvider()).getMeter(INSTRUMENTATION_NAME, VERSION);
      this.metrics = new BatonMetrics(otelSink(meter), metricOptions === true ? {} : metricOptions);
    }
  }

  enqueue(tasks: readonly EnqueueInfo[]): EnqueueScope | undefined {
    const traced = this.tracing.enqueue(tasks);
    const counted = this.metrics?.enqueue(tasks);
    if (!traced || !counted) return traced ?? counted;
    return new BothEnqueue(traced, counted);
  }

  run(info: RunInfo): RunScope | undefined {
    const traced = this.tracing.run(info);
    const counted = this.metrics?.run(info);
    if (!traced || !counted) return traced ?? counted;
    return new BothRun(traced, counted);
  }

  checkpoint(info: CheckpointInfo): { end(error?: unknown): void } | undefined {
    const traced = this.tracing.checkpoint(info);
    const counted = this.metrics?.checkpoint(info);
    if (!traced && !counted) return undefined;
    return {
      end: (error) => {
        traced?.end(error);
        counted?.end(error);
      },
    };
  }

  /** A child span per task of each batched heartbeat, when `heartbeatSpans` is on. */
  heartbeat(info: HeartbeatInfo): HeartbeatScope | undefined {
    return this.tracing.heartbeat(info);
  }

  /**
   * Subscribes to the baton's events (outcomes, recoveries, breakers, lease losses) and serves
   * the gauges from it. Call once, after createBaton; returns the function that stops observing.
   */
  observe(baton: ObservedBaton & Pick<Baton, 'on'>): () => void {
    const offs = [this.tracing.observe(baton), this.metrics?.observe(baton)];
    return () => offs.forEach((off) => off?.());
  }
}

/**
 * ```ts
 * const otel = otelInstrumentation({ checkpointSpans: true });
 * const baton = createBaton({ backend, instrumentation: otel });
 * otel.observe(baton);
 * ```
 */
export function otelInstrumentation(options: OtelOptions = {}): OtelInstrumentation {
  return new OtelInstrumentation(options);
}
