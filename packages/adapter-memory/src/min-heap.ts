// A binary min-heap ordered by (at, seq). The memory stores use it for delayed deliveries,
// lease expiry and timer due-times so no claim or reclaim scans every entry. Entries are
// invalidated lazily: callers skip popped items whose version no longer matches.

export interface HeapItem<T> {
  at: number;
  seq: number;
  value: T;
}

export class MinHeap<T> {
  private readonly items: HeapItem<T>[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: HeapItem<T>): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(items[i]!, items[parent]!)) break;
      swap(items, i, parent);
      i = parent;
    }
  }

  peek(): HeapItem<T> | undefined {
    return this.items[0];
  }

  pop(): HeapItem<T> | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && less(items[l]!, items[m]!)) m = l;
      if (r < items.length && less(items[r]!, items[m]!)) m = r;
      if (m === i) break;
      swap(items, i, m);
      i = m;
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}

function less<T>(a: HeapItem<T>, b: HeapItem<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

function swap<T>(items: T[], i: number, j: number): void {
  const t = items[i]!;
  items[i] = items[j]!;
  items[j] = t;
}
