// ReadyList against the obvious model (a sorted array): random pushes in and out of order,
// several ranks, takes from the head and removals from the middle, past the compaction point.
import { describe, expect, it } from 'vitest';
import { ReadyList } from '../src/ready-list.js';

interface Item {
  rank: number;
  readyAt: number;
  seq: number;
}

const before = (a: Item, b: Item): boolean => a.rank < b.rank || (a.rank === b.rank && (a.readyAt < b.readyAt || (a.readyAt === b.readyAt && a.seq < b.seq)));

/** A small deterministic PRNG (mulberry32), so a failure replays. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('ReadyList', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`hands items out in (rank, readyAt, seq) order under random pushes, takes and removals (seed ${seed})`, () => {
      const random = rng(seed);
      const list = new ReadyList<Item>(before);
      let model: Item[] = [];
      let seq = 0;
      let clock = 0;
      for (let step = 0; step < 20_000; step++) {
        const r = random();
        if (r < 0.5) {
          clock += 1;
          // Mostly in order at rank 0; sometimes another rank, sometimes a past readiness.
          const item = { rank: random() < 0.2 ? -Math.floor(random() * 3) : 0, readyAt: random() < 0.1 ? clock - Math.floor(random() * 50) : clock, seq: ++seq };
          list.push(item);
          model.push(item);
          model.sort((a, b) => (before(a, b) ? -1 : 1));
        } else if (r < 0.9 || model.length === 0) {
          const head = list.peek();
          expect(head).toBe(model[0]);
          if (head !== undefined) {
            list.remove(head);
            model.shift();
          }
        } else {
          const victim = model[Math.floor(random() * model.length)]!;
          list.remove(victim);
          model = model.filter((m) => m !== victim);
        }
        expect(list.size).toBe(model.length);
      }
      while (model.length > 0) {
        const head = list.peek()!;
        expect(head).toBe(model.shift());
        list.remove(head);
      }
      expect(list.peek()).toBeUndefined();
    });
  }

  it('refuses to remove an item it does not hold', () => {
    const list = new ReadyList<Item>(before);
    list.push({ rank: 0, readyAt: 1, seq: 1 });
    list.push({ rank: 0, readyAt: 2, seq: 3 });
    expect(() => list.remove({ rank: 0, readyAt: 1, seq: 2 })).toThrow(/not in this list/);
  });
});
