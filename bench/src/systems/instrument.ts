// The instrumentation a Baton system runs with in `--instrument` variants, built per opened
// instance (so every timed run starts from fresh providers):
// - noop: @baton/otel with no SDK registered — what an application gets from installing the
//   package without configuring OpenTelemetry (no-op tracer, no-op meter, no context manager).
// - sdk: @baton/otel on a real TracerProvider (BatchSpanProcessor, default settings) and
//   MeterProvider (periodic reader), both exporting to exporters that drop what they receive, and
//   the AsyncLocalStorage context manager a NodeSDK installs: the whole in-process cost of
//   tracing and metrics, without the network.
// - sampled: sdk with ParentBased(TraceIdRatio 0.1), the usual setting for high-volume queues.
// - prom: @baton/prometheus alone, in a registry of its own.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Baton, Instrumentation } from '@baton/core';
import { otelInstrumentation } from '@baton/otel';
import { prometheusMetrics } from '@baton/prometheus';
import type { InstrumentMode } from '../config.js';

export interface Instrumented {
  instrumentation: Instrumentation | undefined;
  observe(baton: Baton): void;
  /** Flushes and shuts the providers down; returns what they exported (for the run's notes). */
  close(): Promise<string | null>;
}

const OFF: Instrumented = { instrumentation: undefined, observe: () => undefined, close: async () => null };

export function makeInstrumentation(mode: InstrumentMode): Instrumented {
  if (mode === 'off') return OFF;
  if (mode === 'prom') {
    const metrics = prometheusMetrics();
    return { instrumentation: metrics, observe: (b) => void metrics.observe(b), close: async () => null };
  }
  if (mode === 'noop') {
    const otel = otelInstrumentation();
    return { instrumentation: otel, observe: (b) => void otel.observe(b), close: async () => null };
  }
  let spans = 0;
  let metricExports = 0;
  const spanExporter: SpanExporter = {
    export(batch, done) {
      spans += batch.length;
      done({ code: 0 });
    },
    shutdown: async () => undefined,
  };
  const metricExporter: PushMetricExporter = {
    export(_metrics, done) {
      metricExports++;
      done({ code: 0 });
    },
    selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new BatchSpanProcessor(spanExporter)],
    ...(mode === 'sampled' ? { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) }) } : {}),
  });
  const meterProvider = new MeterProvider({ readers: [new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 5_000 })] });
  const otel = otelInstrumentation({ tracerProvider, meterProvider });
  return {
    instrumentation: otel,
    observe: (b) => void otel.observe(b),
    async close() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      context.disable();
      return `sdk exported ${spans.toLocaleString('en-US')} spans, ${metricExports} metric exports`;
    },
  };
}
