// Input is data: every key round-trips through core's JSON, the prototype-named ones included,
// and nothing reaches Object.prototype.
import { describe, expect, it } from 'vitest';
import { canonicalJson, parseJson, serializeJson } from '../src/json.js';
import { generateKey } from '../src/idempotency.js';

const limits = { maxBytes: 1_000_000, maxDepth: 64 };
const prototypeNames = () => Object.getOwnPropertyNames(Object.prototype).sort();

describe('parseJson', () => {
  it('keeps __proto__, constructor and prototype as own data keys at every depth', () => {
    const text = '{"__proto__":{"polluted":true},"constructor":{"x":1},"prototype":1,"a":{"b":[{"__proto__":null,"constructor":2}]},"c":"__proto__"}';
    const before = prototypeNames();
    const parsed = parseJson<Record<string, unknown>>(text);
    expect(Object.keys(parsed)).toEqual(['__proto__', 'constructor', 'prototype', 'a', 'c']);
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toEqual({ polluted: true });
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    const inner = (parsed.a as { b: Record<string, unknown>[] }).b[0]!;
    expect(Object.keys(inner)).toEqual(['__proto__', 'constructor']);
    expect(Object.getPrototypeOf(inner)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(prototypeNames()).toEqual(before);
    expect(JSON.stringify(parsed)).toBe(text);
  });

  it('round-trips through serializeJson and hashes on what was sent', () => {
    const text = '{"constructor":"Ford","__proto__":{"polluted":true},"prototype":{"x":[1,{"constructor":null}]},"z":1}';
    const input = parseJson(text);
    expect(serializeJson(input, 'x', limits)).toBe(text);
    expect(parseJson(serializeJson(input, 'x', limits))).toEqual(input);
    expect(canonicalJson(input)).toBe('{"__proto__":{"polluted":true},"constructor":"Ford","prototype":{"x":[1,{"constructor":null}]},"z":1}');
    expect(generateKey('car', input)).not.toBe(generateKey('car', { constructor: 'Ford', prototype: { x: [1, { constructor: null }] }, z: 1 }));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('an escaped key is the same key', () => {
    const escaped = parseJson<Record<string, unknown>>('{"\\u005f_proto__":{"polluted":1},"a":2}');
    expect(Object.prototype.hasOwnProperty.call(escaped, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(escaped)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
