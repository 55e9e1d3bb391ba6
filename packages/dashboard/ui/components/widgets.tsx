// Small building blocks. User data (task input, results, errors, names) only ever reaches the DOM
// as text children or attribute values set by Preact, which escapes them: nothing here sets HTML.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import type { JsonValue, TaskState } from '@baton/core';
import type { Sparkline as SparklineData } from '../../src/api-types.js';

export function StateBadge({ state }: { state: TaskState }) {
  return <span class={`badge state-${state}`}>{state}</span>;
}

export function Sparkline({ data, label }: { data: SparklineData; label: string }) {
  const w = 120;
  const h = 28;
  const max = Math.max(1, ...data.completed, ...data.failed);
  const n = data.completed.length;
  const path = (values: number[]) => values.map((v, i) => `${i === 0 ? 'M' : 'L'}${((i / Math.max(1, n - 1)) * w).toFixed(1)},${(h - 1 - (v / max) * (h - 2)).toFixed(1)}`).join(' ');
  const done = data.completed.reduce((a, b) => a + b, 0);
  const failed = data.failed.reduce((a, b) => a + b, 0);
  return (
    <span class="sparkline" title={`${label}: ${done} completed, ${failed} failed in the last hour (per minute, from the event log)`}>
      <svg width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${done} completed, ${failed} failed in the last hour`}>
        <path d={path(data.completed)} class="line-done" />
        <path d={path(data.failed)} class="line-failed" />
      </svg>
      <span class="spark-legend">
        <span class="done">{done}</span>/<span class="failed">{failed}</span>
      </span>
    </span>
  );
}

/** Progress from `ctx.reportProgress`: a number 0–1 draws a bar; an object shows its `ratio`/`percent` if any, and its JSON. */
export function ProgressBar({ progress }: { progress: JsonValue | null }) {
  if (progress === null) return <span class="muted">no progress reported</span>;
  const ratio = progressRatio(progress);
  return (
    <span class="progress-wrap">
      {ratio !== null && (
        <span class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(ratio * 100)}>
          <span class="progress-fill" style={{ width: `${(ratio * 100).toFixed(1)}%` }} />
        </span>
      )}
      <span class="progress-text">{ratio !== null ? `${(ratio * 100).toFixed(0)} %` : ''}</span>
      {typeof progress === 'object' && <code class="progress-json">{JSON.stringify(progress)}</code>}
    </span>
  );
}

export function progressRatio(progress: JsonValue | null): number | null {
  if (typeof progress === 'number' && Number.isFinite(progress)) return Math.min(1, Math.max(0, progress));
  if (progress !== null && typeof progress === 'object' && !Array.isArray(progress)) {
    const o = progress as Record<string, JsonValue>;
    if (typeof o.ratio === 'number') return Math.min(1, Math.max(0, o.ratio));
    if (typeof o.percent === 'number') return Math.min(1, Math.max(0, o.percent / 100));
    if (typeof o.done === 'number' && typeof o.total === 'number' && o.total > 0) return Math.min(1, Math.max(0, o.done / o.total));
  }
  return null;
}

/** Collapsible JSON: objects and arrays fold; strings are shown quoted, as text. */
export function JsonView({ value, label, open = true }: { value: JsonValue | undefined; label?: string; open?: boolean }) {
  if (value === undefined) return <span class="muted">—</span>;
  return (
    <div class="json">
      <JsonNode value={value} name={label ?? null} depth={0} open={open} />
    </div>
  );
}

function JsonNode({ value, name, depth, open }: { value: JsonValue; name: string | null; depth: number; open: boolean }): JSX.Element {
  const [expanded, setExpanded] = useState(open && depth < 2);
  const key = name === null ? null : <span class="json-key">{name}: </span>;
  if (value === null || typeof value !== 'object') {
    const cls = value === null ? 'json-null' : `json-${typeof value}`;
    return (
      <div class="json-row">
        {key}
        <span class={cls}>{typeof value === 'string' ? JSON.stringify(value) : String(value)}</span>
      </div>
    );
  }
  const entries: [string, JsonValue][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  const [openMark, closeMark] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return (
    <div class="json-row">
      <button type="button" class="json-toggle" aria-expanded={expanded} onClick={() => setExpanded(!expanded)}>
        {expanded ? '▾' : '▸'}
      </button>
      {key}
      {openMark}
      {!expanded && <span class="muted"> {entries.length} {Array.isArray(value) ? 'items' : 'keys'} </span>}
      {expanded && (
        <div class="json-children">
          {entries.map(([k, v]) => (
            <JsonNode key={k} value={v} name={Array.isArray(value) ? null : k} depth={depth + 1} open={open} />
          ))}
        </div>
      )}
      {closeMark}
    </div>
  );
}

export function Collapsible({ title, children, open = true }: { title: string; children: JSX.Element | JSX.Element[] | string | null; open?: boolean }) {
  return (
    <details class="card" open={open}>
      <summary>{title}</summary>
      <div class="card-body">{children}</div>
    </details>
  );
}

export function ErrorNote({ error }: { error: Error | null }) {
  if (!error) return null;
  return (
    <p class="error-note" role="alert">
      {error.message}
    </p>
  );
}

/** A bar of spend against a limit; no limit shows the spend alone. */
export function UsageBar({ used, limit, unit }: { used: number; limit: number | null | undefined; unit: string }) {
  const fmt = (n: number) => (unit === '$' ? `$${n.toFixed(4)}` : n.toLocaleString('en-US'));
  if (limit === null || limit === undefined) return <span>{fmt(used)} (no budget)</span>;
  const ratio = limit > 0 ? used / limit : 1;
  return (
    <span class="progress-wrap">
      <span class={`progress ${ratio > 1 ? 'over' : ''}`}>
        <span class="progress-fill" style={{ width: `${Math.min(100, ratio * 100).toFixed(1)}%` }} />
      </span>
      <span class="progress-text">
        {fmt(used)} of {fmt(limit)}
      </span>
    </span>
  );
}
