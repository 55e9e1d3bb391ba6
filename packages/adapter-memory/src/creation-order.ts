// Task ids in creation order, so a page can resume after a cursor with a binary search instead
// of walking every older task. Append-only: deleted tasks leave holes that readers skip (the
// task is gone or has another order) and that are compacted away once they are the majority.

export class CreationOrder {
  private orders: number[] = [];
  private ids: string[] = [];
  private holes = 0;

  /** `live(id, order)`: whether the task with that id still exists with that creation order. */
  constructor(private readonly live: (id: string, order: number) => boolean) {}

  /** Orders must be added increasing. */
  add(id: string, order: number): void {
    this.orders.push(order);
    this.ids.push(id);
  }

  removed(): void {
    this.holes++;
    if (this.holes > 1024 && this.holes * 2 > this.ids.length) this.compact();
  }

  /** Calls `visit` with each live id created after `after`, oldest first, until it returns false. */
  scan(after: number, visit: (id: string) => boolean): void {
    const { orders, ids } = this;
    let lo = 0;
    let hi = orders.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (orders[mid]! <= after) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < ids.length; i++) {
      if (!this.live(ids[i]!, orders[i]!)) continue;
      if (!visit(ids[i]!)) return;
    }
  }

  private compact(): void {
    const orders: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < this.ids.length; i++) {
      if (!this.live(this.ids[i]!, this.orders[i]!)) continue;
      orders.push(this.orders[i]!);
      ids.push(this.ids[i]!);
    }
    this.orders = orders;
    this.ids = ids;
    this.holes = 0;
  }
}
