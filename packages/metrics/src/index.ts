// @baton/metrics: the one definition of Baton's metrics (names, types, labels, buckets) and the
// collector that feeds them from core's hooks and events. @baton/prometheus and @baton/otel
// are sinks over it; applications normally use one of those instead of this package.
export { METRICS, METRIC_LIST, LABEL_ATTRIBUTES, DURATION_BUCKETS, SIZE_BUCKETS, metricsTable } from './definitions.js';
export type { MetricDefinition, MetricKind, MetricKey, LabelKey } from './definitions.js';
export { BatonMetrics, runOutcomeLabel } from './collector.js';
export type { CollectorOptions, ObservedBaton } from './collector.js';
export type { MetricSink, HistogramInstrument, Reading, Labels } from './sink.js';
export { errorCodeOf, OVERFLOW } from './labels.js';
