// The trace context stored on a task (`task.traceContext`). W3C Trace Context is built in, so a
// producer and a worker agree on it without either process registering a global propagator (and
// without a dependency on @opentelemetry/core); a custom propagator can replace it.
import { createTraceState, defaultTextMapGetter, defaultTextMapSetter, isSpanContextValid, ROOT_CONTEXT, trace, type SpanContext, type TextMapPropagator } from '@opentelemetry/api';

/** The carrier of a span context, as stored with the task. */
export function injectContext(sc: SpanContext, propagator?: TextMapPropagator): Record<string, string> | undefined {
  if (!isSpanContextValid(sc)) return undefined;
  if (propagator) {
    const carrier: Record<string, string> = {};
    propagator.inject(trace.setSpanContext(ROOT_CONTEXT, sc), carrier, defaultTextMapSetter);
    return Object.keys(carrier).length > 0 ? carrier : undefined;
  }
  const flags = (sc.traceFlags & 0xff).toString(16).padStart(2, '0');
  const carrier: Record<string, string> = { traceparent: `00-${sc.traceId}-${sc.spanId}-${flags}` };
  const state = sc.traceState?.serialize();
  if (state) carrier.tracestate = state;
  return carrier;
}

/** The producer's span context from a stored carrier, or null when there is none or it is malformed. */
export function extractContext(carrier: Record<string, string> | null | undefined, propagator?: TextMapPropagator): SpanContext | null {
  if (!carrier) return null;
  if (propagator) {
    const sc = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
    return sc && isSpanContextValid(sc) ? { ...sc, isRemote: true } : null;
  }
  const header = carrier.traceparent;
  if (typeof header !== 'string') return null;
  const sc = parseTraceparent(header.trim());
  if (sc === null) return null;
  if (typeof carrier.tracestate === 'string' && carrier.tracestate.length > 0) sc.traceState = createTraceState(carrier.tracestate);
  return sc;
}

/** Lowercase hex only, as W3C Trace Context requires. */
function isHex(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

function allZero(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) !== 48) return false;
  return true;
}

/**
 * `version-traceid-parentid-flags` (W3C Trace Context level 1), checked by hand: run once per
 * run, where a regular expression plus the API's validity checks (two more) measured as a
 * visible share of a run's instrumentation cost.
 */
export function parseTraceparent(h: string): SpanContext | null {
  // 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters; later versions may append "-…".
  if (h.length < 55 || h[2] !== '-' || h[35] !== '-' || h[52] !== '-') return null;
  if (!isHex(h, 0, 2) || !isHex(h, 3, 35) || !isHex(h, 36, 52) || !isHex(h, 53, 55)) return null;
  const version = h.slice(0, 2);
  // Version ff is invalid; version 00 has exactly four fields.
  if (version === 'ff' || (h.length > 55 && (version === '00' || h[55] !== '-'))) return null;
  if (allZero(h, 3, 35) || allZero(h, 36, 52)) return null;
  return { traceId: h.slice(3, 35), spanId: h.slice(36, 52), traceFlags: parseInt(h.slice(53, 55), 16) & 0x01, isRemote: true };
}
