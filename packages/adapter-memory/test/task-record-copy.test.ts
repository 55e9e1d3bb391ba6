// writeBack is written out field by field for speed; this keeps it in step with the field list
// the compiler checks against StoredTask.
import { describe, expect, it } from 'vitest';
import type { StoredTask } from '../src/memory-state.js';
import { WRITTEN_BACK, writeBack } from '../src/task-record-copy.js';

describe('writeBack', () => {
  it('copies every field of the stored record', () => {
    const keys = Object.keys(WRITTEN_BACK);
    const source = Object.fromEntries(keys.map((k) => [k, `value of ${k}`])) as unknown as StoredTask;
    const target = {} as StoredTask;
    writeBack(target, source);
    expect(target).toEqual(source);
    expect(Object.keys(target).sort()).toEqual([...keys].sort());
  });
});
