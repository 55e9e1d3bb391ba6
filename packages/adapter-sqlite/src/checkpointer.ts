// WAL checkpoints on a thread of their own. In WAL mode every commit appends pages to the -wal
// file, and a checkpoint copies them back into the database file (with `synchronous = NORMAL`,
// the only fsyncs). SQLite runs one inside the commit that crosses `wal_autocheckpoint` pages, on
// the committing connection — here the event loop, which then stops for the fsyncs and the copy:
// close to half of a busy worker's time. A second connection on a worker thread runs PASSIVE
// checkpoints instead (they never block the writer), a few milliseconds apart while the WAL
// grows and backing off while it is idle. The main connection keeps a backstop: past
// BACKSTOP_PAGES it checkpoints itself, which also lets the WAL restart from its beginning (a
// PASSIVE checkpoint racing a steady writer rarely sees the moment it could), and if the thread
// is gone it goes back to SQLite's own default.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SqliteDatabase } from './sqlite-driver.js';

/** WAL pages (4 KB each) at which the main connection checkpoints itself while the thread runs. */
export const BACKSTOP_PAGES = 10_000;
/** SQLite's default `wal_autocheckpoint`, what the main connection uses without the thread. */
export const SQLITE_DEFAULT_PAGES = 1_000;
/** A WAL file larger than this is truncated back to it when it restarts (SQLite otherwise keeps its largest size). */
export const JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024;
/** Delay between checkpoints while commits keep coming; doubled up to IDLE_MS while none do. 2 ms measured slower (the fsyncs compete with the writer on two cores), 20 ms a little slower. */
export const BUSY_MS = 5;
export const IDLE_MS = 1_000;

// Plain JavaScript run with `eval: true`: no file of its own, so the ESM and CJS builds and the
// sources under test run the same code. `require` is the worker's; the driver's path comes from
// this package, so it loads the better-sqlite3 this package resolves.
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = ' + workerData.busyTimeoutMs);
db.pragma('synchronous = ' + workerData.synchronous);
let delay = workerData.busyMs;
let timer = null;
let stopped = false;
let last = '';
function tick() {
  timer = null;
  if (stopped) return;
  const r = db.pragma('wal_checkpoint(PASSIVE)')[0];
  const now = r.log + '/' + r.checkpointed;
  delay = now === last ? Math.min(delay * 2, workerData.idleMs) : workerData.busyMs;
  last = now;
  timer = setTimeout(tick, delay);
}
parentPort.on('message', (m) => {
  if (m !== 'stop' || stopped) return;
  stopped = true;
  if (timer !== null) clearTimeout(timer);
  db.close();
  parentPort.close();
});
tick();
`;

export interface CheckpointerOptions {
  /** Absolute path of the database file. */
  file: string;
  busyTimeoutMs: number;
  synchronous: 'NORMAL' | 'FULL';
  /** Called once if the thread fails or exits on its own; the main connection is back on SQLite's own checkpoints by then. */
  onFailure(err: Error): void;
}

export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private stopping: Promise<void> | null = null;
  private failed = false;
  private online = false;

  constructor(
    private readonly db: SqliteDatabase,
    options: CheckpointerOptions,
  ) {
    db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT}`);
    this.worker = new Worker(SOURCE, {
      eval: true,
      workerData: { driver: driverPath(), file: options.file, busyTimeoutMs: options.busyTimeoutMs, synchronous: options.synchronous, busyMs: BUSY_MS, idleMs: IDLE_MS },
    });
    // Never what keeps a process alive: close() stops it, and an exiting process takes it along.
    this.worker.unref();
    // The backstop replaces SQLite's default only once the thread runs.
    this.worker.once('online', () => {
      if (this.stopping !== null || this.failed || !db.open) return;
      db.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
      this.online = true;
    });
    const fail = (err: Error) => {
      if (this.failed || this.stopping !== null) return;
      this.failed = true;
      this.restoreDefault();
      options.onFailure(err);
    };
    this.worker.once('error', fail);
    this.worker.once('exit', (code) => fail(new Error(`the checkpoint thread exited with code ${code}`)));
  }

  /** Whether the thread is up and the main connection on the backstop (tests). */
  get running(): boolean {
    return this.online && !this.failed && this.stopping === null;
  }

  /** The main connection's `wal_autocheckpoint` (tests). */
  mainPages(): number {
    return this.db.pragma('wal_autocheckpoint', { simple: true }) as number;
  }

  /** Stops the thread (its connection closed) before the main connection closes; at most `timeoutMs`, then terminated. */
  stop(timeoutMs = 5_000): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => void this.worker.terminate().then(() => resolve(), () => resolve()), timeoutMs);
      timer.unref();
      this.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.failed) {
        clearTimeout(timer);
        resolve();
        return;
      }
      // Held until it has exited: `await backend.close()` must not find the process gone meanwhile.
      this.worker.ref();
      this.worker.postMessage('stop');
    });
    return this.stopping;
  }

  /** Ends the thread as a crash would (tests): the main connection falls back to SQLite's own checkpoints. */
  async kill(): Promise<void> {
    await this.worker.terminate();
  }

  private restoreDefault(): void {
    if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${SQLITE_DEFAULT_PAGES}`);
  }
}

function driverPath(): string {
  return createRequire(import.meta.url).resolve('better-sqlite3');
}
