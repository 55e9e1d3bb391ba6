export interface Beat {
  id: string;
  /** The entry disappears this long after its last beat. */
  ttlMs: number;
}

export interface StaleEntry {
  id: string;
  lastSeen: number;
}

/** The ids core beats under: `worker:<workerId>` per process and `task:<taskId>` per running task. */
export const heartbeatId = {
  worker: (workerId: string): string => `worker:${workerId}`,
  task: (taskId: string): string => `task:${taskId}`,
};

/**
 * Liveness of workers and tasks, for operators and dashboards: core writes beats and never reads
 * them (stalls are detected by lease expiry in the Queue). Times are epoch ms by the backend's clock.
 */
export interface HeartbeatStore {
  /** Records a beat now for each id, renewing its TTL. */
  beat(beats: Beat[]): Promise<void>;
  /** Time of the last beat, or null when never seen, removed, or its TTL passed. */
  lastSeen(id: string): Promise<number | null>;
  /** Live entries (TTL not passed) whose last beat is older than `olderThanMs`, stalest first, at most `limit` (integer 0–1000). */
  stale(olderThanMs: number, limit: number): Promise<StaleEntry[]>;
  remove(ids: string[]): Promise<void>;
}
