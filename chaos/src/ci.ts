// `npm run chaos:ci [-- --only=sqlite,redis]`: the short chaos form for every durable backend,
// one after another, against the shared local services (no server restarts): 300 tasks, one
// worker SIGKILLed every 2 s, each run bounded to 120 s. (With a kill every second, right after
// the test suite on 2 cores, replacement workers spent most of the run starting up and NATS hit
// a 60 s bound with tasks still pending: slow, not lost.) Each run is its own process (a leak in
// one cannot colour the next); their RESULT lines are collected into one table. Exits 1 when any
// run lost a task (or failed otherwise), 2 when one could not be set up.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKENDS, type BackendKind } from './config.js';

const SHORT_FORM = ['--tasks=300', '--kill-every=2s', '--max-seconds=120'];
const here = fileURLToPath(new URL('.', import.meta.url));

interface Outcome {
  backend: BackendKind;
  code: number | null;
  wallSeconds: number;
  result: Record<string, unknown> | null;
}

function runOne(backend: BackendKind, extra: string[]): Promise<Outcome> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'main.ts'), `--backend=${backend}`, ...SHORT_FORM, ...extra], {
      cwd: join(here, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let result: Record<string, unknown> | null = null;
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      process.stdout.write(chunk);
    });
    child.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) result = JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>;
      resolve({ backend, code, wallSeconds: (Date.now() - t0) / 1000, result });
    });
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const extra = args.filter((a) => !a.startsWith('--only='));
  for (const b of only ?? []) if (!(BACKENDS as readonly string[]).includes(b)) throw new Error(`--only: unknown backend ${JSON.stringify(b)}; known: ${BACKENDS.join(', ')}.`);
  const backends = only ? BACKENDS.filter((b) => only.includes(b)) : [...BACKENDS];
  const outcomes: Outcome[] = [];
  for (const b of backends) outcomes.push(await runOne(b, extra));

  const lines = ['', `chaos:ci — ${SHORT_FORM.join(' ')}${extra.length > 0 ? ` ${extra.join(' ')}` : ''}`, '| backend | verdict | completed | lost | dup. completions | ran twice | redone steps | recoveries | kills | run s | wall s |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|'];
  for (const o of outcomes) {
    const r = o.result;
    const verdict = o.code === 0 ? 'PASS' : o.code === 1 ? 'FAIL' : `ERROR (exit ${o.code})`;
    const v = (k: string) => (r && r[k] !== undefined ? String(r[k]) : '–');
    lines.push(`| ${o.backend} | ${verdict} | ${v('completed')}/${v('enqueued')} | ${v('lost')} | ${v('duplicateStoredCompletions')} | ${v('handlerRanTwice')} | ${v('checkpointedStepsRedone')} | ${v('recoveries')} | ${v('kills')} | ${v('seconds')} | ${o.wallSeconds.toFixed(1)} |`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  for (const o of outcomes) if (o.code !== 0 && o.result) process.stdout.write(`reproduce ${o.backend}: ${String(o.result.command)}\n`);
  if (outcomes.some((o) => o.code !== 0 && o.code !== 1)) return 2;
  return outcomes.every((o) => o.code === 0) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);
