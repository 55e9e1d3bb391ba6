// The MetricSink over the OpenTelemetry metrics API: observable counters (the collector keeps the
// totals, the SDK reads them at collection), histograms with Baton's bucket advice, and
// observable gauges fed by one batch callback per collection.
import type { Attributes, Meter, Observable } from '@opentelemetry/api';
import { LABEL_ATTRIBUTES, type Reading, type LabelKey, type Labels, type MetricDefinition, type MetricSink } from '@baton/metrics';

/** Label sets are few and reused (the collector caches them), so their attributes are too. */
function attributesCache(): (labels: Labels) => Attributes {
  const cache = new WeakMap<Labels, Attributes>();
  return (labels) => {
    let attrs = cache.get(labels);
    if (!attrs) {
      attrs = {};
      for (const [k, v] of Object.entries(labels)) attrs[LABEL_ATTRIBUTES[k as LabelKey]] = v;
      // Frozen label sets are the collector's cached ones; ad-hoc ones would only fill the cache.
      if (Object.isFrozen(labels)) cache.set(labels, attrs);
    }
    return attrs;
  };
}

export function otelSink(meter: Meter): MetricSink {
  const attributes = attributesCache();
  return {
    counters(defs: readonly MetricDefinition[], read: () => Reading[]) {
      // Cumulative totals, so asynchronous (observable) counters: the SDK derives deltas itself.
      const instruments = new Map<MetricDefinition, Observable>(defs.map((d) => [d, meter.createObservableCounter(d.otel, { description: d.help, unit: d.unit })]));
      meter.addBatchObservableCallback((result) => {
        for (const r of read()) {
          const c = instruments.get(r.metric);
          if (c) result.observe(c, r.value, attributes(r.labels));
        }
      }, [...instruments.values()]);
    },
    histogram(def: MetricDefinition) {
      const h = meter.createHistogram(def.otel, {
        description: def.help,
        unit: def.unit,
        ...(def.buckets ? { advice: { explicitBucketBoundaries: [...def.buckets] } } : {}),
      });
      return { record: (value, labels) => h.record(value, attributes(labels)) };
    },
    gauges(defs: readonly MetricDefinition[], read: () => Promise<Reading[]>) {
      const instruments = new Map<MetricDefinition, Observable>(defs.map((d) => [d, meter.createObservableGauge(d.otel, { description: d.help, unit: d.unit })]));
      meter.addBatchObservableCallback(async (result) => {
        const readings = await read().catch(() => []);
        for (const r of readings) {
          const g = instruments.get(r.metric);
          if (g) result.observe(g, r.value, attributes(r.labels));
        }
      }, [...instruments.values()]);
    },
  };
}
