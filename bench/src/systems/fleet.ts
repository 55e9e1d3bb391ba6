// Scenario 8 helper shared by the peers whose worker objects each serve one queue (BullMQ's
// Worker, pg-boss's work()): their concurrency is per object, not per process.

/** A fleet worker's concurrency split between its per-queue consumers (25 over two → 13 + 12). */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, k) => Math.floor(total / parts) + (k < total % parts ? 1 : 0));
}
