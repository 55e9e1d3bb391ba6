// @baton/prometheus: Baton's metrics (defined once in @baton/metrics) registered in a prom-client
// registry, for teams without OpenTelemetry. Counters and histograms are fed by core's hooks and
// events; gauges are read from the backend when Prometheus scrapes (cached, bounded in time).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry, type OpenMetricsContentType, type PrometheusContentType } from 'prom-client';
import { BatonMetrics, type CollectorOptions, type Reading, type Labels, type MetricDefinition, type MetricSink } from '@baton/metrics';

export { METRICS, METRIC_LIST, DURATION_BUCKETS, SIZE_BUCKETS } from '@baton/metrics';
export type { CollectorOptions, MetricDefinition, ObservedBaton } from '@baton/metrics';

/** A prom-client registry of either content type. */
export type AnyRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;

export interface PrometheusMetricsOptions extends CollectorOptions {
  /** The registry to register the metrics in. @default a new Registry (not prom-client's global one) */
  registry?: AnyRegistry;
}

/** An Instrumentation for `createBaton({ instrumentation })`, plus `observe(baton)` for events and gauges. */
export class PrometheusMetrics extends BatonMetrics {
  readonly registry: AnyRegistry;

  constructor(registry: AnyRegistry, options: CollectorOptions) {
    super(promSink(registry), options);
    this.registry = registry;
  }

  /** The exposition text, as `GET /metrics` serves it. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * Baton metrics in a prom-client registry:
 *
 * ```ts
 * const metrics = prometheusMetrics();
 * const baton = createBaton({ backend, instrumentation: metrics });
 * metrics.observe(baton);
 * http.createServer(metricsHandler(metrics.registry)).listen(9464);
 * ```
 */
export function prometheusMetrics(options: PrometheusMetricsOptions = {}): PrometheusMetrics {
  const { registry, ...rest } = options;
  return new PrometheusMetrics(registry ?? new Registry(), rest);
}

/**
 * `GET /metrics` for Node's http server or Express (Fastify: pass `request.raw, reply.raw`).
 * Other paths go to `next`, or get a 404 when there is none.
 */
export function metricsHandler(registry: AnyRegistry, path = '/metrics') {
  return (req: IncomingMessage, res: ServerResponse, next?: () => void): void => {
    if ((req.url ?? '/').split('?')[0] !== path) {
      if (next) return next();
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${(err as Error).message}`),
    );
  };
}

function labelValues(labels: Labels): Record<string, string> {
  return labels as Record<string, string>;
}

/** The MetricSink over prom-client: one prom-client metric per definition, registered in `registry` only. */
export function promSink(registry: AnyRegistry): MetricSink {
  return {
    counters(defs: readonly MetricDefinition[], read: () => Reading[]) {
      // The collector keeps the totals (no label hashing per event); a scrape sets each series to its total.
      for (const def of defs) {
        new Counter({
          name: def.prom,
          help: def.help,
          labelNames: def.labels,
          registers: [registry],
          collect() {
            this.reset();
            for (const r of read()) if (r.metric === def) this.inc(labelValues(r.labels), r.value);
          },
        });
      }
    },
    histogram(def: MetricDefinition) {
      const h = new Histogram({ name: def.prom, help: def.help, labelNames: def.labels, buckets: [...(def.buckets ?? [])], registers: [registry] });
      return { record: (value, labels) => h.observe(labelValues(labels), value) };
    },
    gauges(defs: readonly MetricDefinition[], read: () => Promise<Reading[]>) {
      // One read feeds every gauge of a scrape: prom-client collects the gauges concurrently,
      // so the first one starts the read and the others share it.
      let current: Promise<Reading[]> | null = null;
      const shared = () =>
        (current ??= read().finally(() => {
          setImmediate(() => (current = null));
        }));
      for (const def of defs) {
        new Gauge({
          name: def.prom,
          help: def.help,
          labelNames: def.labels,
          registers: [registry],
          async collect() {
            const readings = await shared().catch(() => []);
            // Series of queues or types that are gone must not linger with their last value.
            this.reset();
            for (const r of readings) if (r.metric === def) this.set(labelValues(r.labels), r.value);
          },
        });
      }
    },
  };
}
