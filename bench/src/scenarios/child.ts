// Child worker processes (scenarios 6 and 7): `node --import tsx <script> <json args>`, talking
// back in JSON lines on stdout. The parent always kills what it spawned.
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const BENCH_DIR = resolve(import.meta.dirname, '../..');

export interface Child {
  proc: ChildProcess;
  /** Resolves with the exit code (or the signal name) once the process is gone. */
  exited: Promise<number | string | null>;
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
}

export function spawnChild(script: string, args: unknown, onMessage: (msg: Record<string, unknown>) => void, nodeFlags: string[] = []): Child {
  const proc = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', resolve(import.meta.dirname, script), JSON.stringify(args)], {
    cwd: BENCH_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => {
    if (err.length < 8_000) err += d.toString();
  });
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      onMessage(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not one of ours (a library printing to stdout); ignored.
    }
  });
  const exited = new Promise<number | string | null>((r) => proc.once('exit', (code, signal) => r(code ?? signal)));
  return {
    proc,
    exited,
    stderr: () => err.trim(),
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
}

/** In the child: one JSON line to the parent. */
export function tell(msg: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}
