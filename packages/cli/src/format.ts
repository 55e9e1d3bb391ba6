// Human output: aligned tables, short times and durations, colour only on a terminal.
import { ValidationError } from '@baton/core';

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
}

const plain: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s };
const wrap = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;
const ansi: Style = { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39) };

export function style(enabled: boolean): Style {
  return enabled ? ansi : plain;
}

const ANSI = /\u001b\[[0-9;]*m/g;
const width = (s: string) => s.replace(ANSI, '').length;

/** A table with a header row; columns padded to their widest cell. */
export function table(header: string[], rows: string[][], s: Style): string {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - width(c)))).join('  ').trimEnd();
  return [s.bold(line(header)), ...rows.map(line)].join('\n');
}

/** Terminal-safe text: control characters shown escaped, long values cut. */
export function clean(value: string, max = 80): string {
  const safe = value.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
}

const UNITS: [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1_000],
  ['ms', 1],
];

/** "7d", "12h", "30m", "45s", "500ms", "1h30m" → ms. */
export function parseDuration(text: string, flag: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|d|h|m|s)/gy;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * UNITS.find(([u]) => u === m![2])![1];
    consumed = re.lastIndex;
  }
  if (text.length === 0 || consumed !== text.length) throw new ValidationError(`${flag} must be a duration such as 7d, 12h, 30m or 45s; got "${clean(text, 40)}".`);
  return Math.round(total);
}

/** A point in time: a duration ago ("10m") or an ISO date. */
export function parseTime(text: string, flag: string, now: number): number {
  if (/^\d/.test(text) && !/[-T:]/.test(text)) return now - parseDuration(text, flag);
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new ValidationError(`${flag} must be a duration ago (10m, 2h, 7d) or an ISO date; got "${clean(text, 40)}".`);
  return t;
}

export function ago(ms: number | null, now: number): string {
  if (ms === null) return '-';
  return `${human(now - ms)} ago`;
}

export function human(ms: number | null): string {
  if (ms === null) return '-';
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${Math.round(ms)}ms`;
  if (abs < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  if (abs < 3_600_000) return `${Math.round(ms / 60_000)}m`;
  if (abs < 86_400_000) return `${(ms / 3_600_000).toFixed(1)}h`;
  return `${(ms / 86_400_000).toFixed(1)}d`;
}

export function isoTime(ms: number | null): string {
  return ms === null ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}
