// The stored trace context: W3C traceparent/tracestate written and read back exactly, malformed
// values refused (so a bad record never breaks a run), and a custom propagator honoured.
import { describe, expect, it } from 'vitest';
import { createTraceState, trace, type Context, type TextMapGetter, type TextMapPropagator, type TextMapSetter } from '@opentelemetry/api';
import { extractContext, injectContext } from '../src/index.js';

const sc = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };

describe('trace context stored on a task', () => {
  it('round-trips traceparent and tracestate', () => {
    const carrier = injectContext({ ...sc, traceState: createTraceState('vendor=a,other=b') })!;
    expect(carrier).toEqual({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=a,other=b' });
    const back = extractContext(carrier)!;
    expect(back).toMatchObject({ ...sc, isRemote: true });
    expect(back.traceState?.get('vendor')).toBe('a');
    expect(extractContext({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' })?.traceFlags).toBe(0);
  });

  it('stores nothing for an invalid context, reads nothing from a malformed one', () => {
    expect(injectContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 })).toBeUndefined();
    for (const traceparent of [
      '',
      'garbage',
      '00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01', // uppercase
      'ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', // version ff
      '00-00000000000000000000000000000000-b7ad6b7169203331-01', // zero trace id
      '00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01', // zero span id
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra', // version 00 has four fields
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333-01', // short span id
      '00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    ]) {
      expect(extractContext({ traceparent }), traceparent).toBeNull();
    }
    expect(extractContext(null)).toBeNull();
    expect(extractContext({})).toBeNull();
    // A later version may append fields.
    expect(extractContext({ traceparent: '01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-what-ever' })).toMatchObject(sc);
  });

  it('a custom propagator writes and reads its own fields', () => {
    const custom: TextMapPropagator = {
      inject(ctx: Context, carrier: unknown, setter: TextMapSetter) {
        const s = trace.getSpanContext(ctx)!;
        setter.set(carrier, 'x-trace', `${s.traceId}:${s.spanId}`);
      },
      extract(ctx: Context, carrier: unknown, getter: TextMapGetter) {
        const v = getter.get(carrier, 'x-trace');
        if (typeof v !== 'string') return ctx;
        const [traceId, spanId] = v.split(':');
        return trace.setSpanContext(ctx, { traceId: traceId!, spanId: spanId!, traceFlags: 1 });
      },
      fields: () => ['x-trace'],
    };
    const carrier = injectContext(sc, custom)!;
    expect(carrier).toEqual({ 'x-trace': `${sc.traceId}:${sc.spanId}` });
    expect(extractContext(carrier, custom)).toMatchObject({ ...sc, isRemote: true });
  });
});
