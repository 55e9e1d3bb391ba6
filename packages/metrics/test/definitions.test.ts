// The metric list itself: valid and unique names in both flavours, counters named as counters,
// sorted buckets, bounded labels; and the READMEs of @baton/prometheus and @baton/otel carry
// the table generated from it, so the documentation cannot drift from the code.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LABEL_ATTRIBUTES, METRIC_LIST, metricsTable } from '../src/index.js';

const readme = (pkg: string) => readFileSync(new URL(`../../${pkg}/README.md`, import.meta.url), 'utf8');

describe('metric definitions', () => {
  it('Prometheus names are valid, unique, and end in _total exactly for counters', () => {
    const names = METRIC_LIST.map((m) => m.prom);
    expect(new Set(names).size).toBe(names.length);
    for (const m of METRIC_LIST) {
      expect(m.prom).toMatch(/^baton_[a-z0-9_]+$/);
      expect(m.prom.endsWith('_total')).toBe(m.kind === 'counter');
      if (m.unit === 's') expect(m.prom).toMatch(/_seconds(_total)?$/);
      if (m.unit === 'By') expect(m.prom).toMatch(/_bytes(_total)?$/);
    }
  });

  it('OTel names are valid instrument names, unique, with UCUM units', () => {
    const names = METRIC_LIST.map((m) => m.otel);
    expect(new Set(names).size).toBe(names.length);
    for (const m of METRIC_LIST) {
      expect(m.otel).toMatch(/^baton\.[a-z0-9_.]{1,250}$/);
      expect(m.unit).toMatch(/^(s|By|1|\{[a-z]+\}|\[USD\])$/);
    }
  });

  it('histograms have increasing buckets; labels are from the bounded set, never ids', () => {
    for (const m of METRIC_LIST) {
      if (m.kind === 'histogram') {
        expect(m.buckets!.length).toBeGreaterThan(5);
        expect([...m.buckets!].sort((a, b) => a - b)).toEqual(m.buckets);
      } else expect(m.buckets).toBeUndefined();
      expect(new Set(m.labels).size).toBe(m.labels.length);
      for (const l of m.labels) expect(Object.keys(LABEL_ATTRIBUTES)).toContain(l);
      expect(m.labels.join(',')).not.toMatch(/id/);
    }
  });

  it('the READMEs carry the generated metric table (regenerate: node --import tsx packages/metrics/scripts/tables.ts)', () => {
    expect(readme('prometheus')).toContain(metricsTable('prometheus'));
    expect(readme('otel')).toContain(metricsTable('otel'));
    expect(readme('metrics')).toContain(metricsTable('prometheus'));
  });
});
