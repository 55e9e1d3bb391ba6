// What a metrics library must offer the collector: counters, histograms and gauges read on
// collection. @baton/prometheus implements it over prom-client, @baton/otel over the OTel API.
import type { LabelKey, MetricDefinition } from './definitions.js';

export type Labels = Partial<Record<LabelKey, string>>;

export interface HistogramInstrument {
  record(value: number, labels: Labels): void;
}

/** One series of a counter or gauge at collection time. */
export interface Reading {
  metric: MetricDefinition;
  value: number;
  labels: Labels;
}

export interface MetricSink {
  /**
   * Registers the counters; `read` returns the cumulative total of every series when the library
   * collects. The collector adds up in process (a Map increment per event) instead of calling the
   * library per event: both prom-client and the OTel SDK hash the label set on every add, which
   * measured as most of the metrics' cost per task.
   */
  counters(metrics: readonly MetricDefinition[], read: () => Reading[]): void;
  histogram(metric: MetricDefinition): HistogramInstrument;
  /**
   * Registers the gauges; `read` is called when the library collects (a scrape, an export) and
   * returns every current reading of them. A gauge without a reading reports nothing.
   */
  gauges(metrics: readonly MetricDefinition[], read: () => Promise<Reading[]>): void;
}
