// The worker processes of a run: spawned with tsx (like the conformance process suite), SIGKILLed
// on demand and replaced at once, so the fleet keeps its size. A worker that exits without being
// killed is a finding (a crash): it is recorded with the tail of its log and replaced too.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Endpoints } from './backends.js';
import type { BackendKind } from './config.js';

const here = fileURLToPath(new URL('.', import.meta.url));
export const REPO_ROOT = join(here, '..', '..');
const WORKER_SCRIPT = join(here, 'worker.ts');

/**
 * This many workers in a row exiting before they ever got ready and the run stops: the workers
 * cannot start, chaos would only spin. Workers that exit after working (e.g. during a server
 * restart) are findings, not a reason to stop.
 */
const MAX_EARLY_EXITS_IN_A_ROW = 10;

export interface FleetOptions {
  kind: BackendKind;
  namespace: string;
  /** Journals and worker logs. */
  dir: string;
  endpoints: Endpoints;
  stallMs: number;
  concurrency: number;
  size: number;
  log: (message: string) => void;
}

interface Member {
  index: number;
  child: ChildProcess;
  ready: boolean;
  killedByUs: boolean;
  logFile: string;
}

export interface UnexpectedExit {
  pid: number;
  code: number | null;
  signal: string | null;
  logTail: string;
}

export class Fleet {
  private readonly members = new Set<Member>();
  private spawnedCount = 0;
  private stopping = false;
  private earlyExitsInARow = 0;
  readonly unexpected: UnexpectedExit[] = [];
  kills = 0;

  constructor(private readonly options: FleetOptions) {}

  get spawned(): number {
    return this.spawnedCount;
  }

  /** True once workers keep dying before they get ready. */
  get broken(): boolean {
    return this.earlyExitsInARow >= MAX_EARLY_EXITS_IN_A_ROW;
  }

  start(): void {
    for (let i = 0; i < this.options.size; i++) this.spawnOne();
  }

  readyCount(): number {
    return [...this.members].filter((m) => m.ready).length;
  }

  private spawnOne(): void {
    const o = this.options;
    const index = this.spawnedCount++;
    const logFile = join(o.dir, `worker-${index}.log`);
    const fd = openSync(logFile, 'a');
    const tsconfig = join(REPO_ROOT, 'tsconfig.json');
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT, o.kind, o.namespace, o.dir], {
      cwd: REPO_ROOT,
      // The root tsconfig maps @baton/* to the packages' sources: no build needed, the code under test is the checkout.
      env: {
        ...process.env,
        ...(existsSync(tsconfig) ? { TSX_TSCONFIG_PATH: tsconfig } : {}),
        CHAOS_ENDPOINTS: JSON.stringify(o.endpoints),
        CHAOS_STALL_MS: String(o.stallMs),
        CHAOS_CONCURRENCY: String(o.concurrency),
      },
      stdio: ['ignore', 'pipe', fd],
    });
    closeSync(fd);
    const member: Member = { index, child, ready: false, killedByUs: false, logFile };
    this.members.add(member);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line !== 'ready') return;
      member.ready = true;
      this.earlyExitsInARow = 0;
    });
    child.on('exit', (code, signal) => {
      this.members.delete(member);
      if (member.killedByUs || this.stopping) return;
      let tail = '';
      try {
        tail = readFileSync(logFile, 'utf8').slice(-1_500);
      } catch {
        // no log
      }
      this.unexpected.push({ pid: child.pid ?? -1, code, signal, logTail: tail });
      if (!member.ready) this.earlyExitsInARow++;
      o.log(`worker ${child.pid} exited on its own (code ${code}, signal ${signal}); replacing it`);
      if (!this.broken) setTimeout(() => !this.stopping && this.spawnOne(), 500);
    });
  }

  /** SIGKILLs one worker that is up (chosen with `random`) and spawns its replacement. Null when none is ready yet. */
  killOne(random: () => number): number | null {
    const ready = [...this.members].filter((m) => m.ready && !m.killedByUs);
    if (ready.length === 0) return null;
    const victim = ready[Math.floor(random() * ready.length)]!;
    victim.killedByUs = true;
    victim.child.kill('SIGKILL');
    this.kills++;
    this.spawnOne();
    return victim.child.pid ?? null;
  }

  /** Graceful stop of every worker (SIGTERM → baton.close()); SIGKILL after 10 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.members].map(
        (m) =>
          new Promise<void>((resolve) => {
            if (m.child.exitCode !== null || m.child.signalCode !== null) return resolve();
            const timer = setTimeout(() => m.child.kill('SIGKILL'), 10_000);
            m.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            m.child.kill('SIGTERM');
          }),
      ),
    );
  }

  /** Last resort on process exit: nothing may outlive the run. */
  killAllNow(): void {
    this.stopping = true;
    for (const m of this.members) m.child.kill('SIGKILL');
  }
}
