// Rewrites the metric table of each README from the definitions (between the
// `<!-- metrics:begin -->` and `<!-- metrics:end -->` markers):
//   node --import tsx packages/metrics/scripts/tables.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { metricsTable } from '../src/definitions.js';

const targets: [string, 'prometheus' | 'otel'][] = [
  ['../../prometheus/README.md', 'prometheus'],
  ['../../otel/README.md', 'otel'],
  ['../README.md', 'prometheus'],
];
for (const [path, flavour] of targets) {
  const file = new URL(path, import.meta.url);
  const text = readFileSync(file, 'utf8');
  const re = /(<!-- metrics:begin -->\n)[\s\S]*?(<!-- metrics:end -->)/;
  if (!re.test(text)) throw new Error(`${file.pathname}: no metrics markers`);
  writeFileSync(file, text.replace(re, `$1${metricsTable(flavour)}\n$2`));
  process.stdout.write(`${file.pathname}: ${flavour} table written\n`);
}
