// `npm run chaos -- --backend=<sqlite|redis|postgres|nats|production> --tasks=3000 --kill-every=2s
//   [--workers=3] [--restart-server=every:10s] [--terminate-backends] [--seed=N] [--max-seconds=N]`
// Prints the run's numbers and a machine-readable RESULT line; exits 1 on any lost task, wrong
// result or double stored completion, 2 when the run could not be set up. What each number means:
// RELIABILITY.md at the repository root.
import { USAGE, commandOf, parseArgs, type ChaosConfig } from './config.js';
import { failures } from './audit.js';
import { runChaos, type RunReport } from './run.js';

const t0 = Date.now();
const log = (m: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);

function row(label: string, value: string | number, note = ''): string {
  return `  ${label.padEnd(30)} ${String(value).padStart(8)}${note ? `  ${note}` : ''}`;
}

function render(config: ChaosConfig, r: RunReport, failed: string[]): string {
  const a = r.audit;
  const errors = Object.entries(a.failedRunsByError)
    .sort((x, y) => y[1] - x[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [
    '',
    `Baton chaos — ${commandOf(config)}`,
    `  backend ${config.backend}; ${config.workers} workers × ${config.concurrency} slots; ${config.steps} steps/task (~${config.stepMs} ms each, flushed checkpoint after each); stall timeout ${config.stallMs} ms`,
    `  servers: ${r.servers.length > 0 ? r.servers.join(', ') : 'the shared loopback services'}`,
    row('tasks enqueued', a.enqueued),
    row('completed', a.completed, 'stored completed, with the result its input determines'),
    row('lost', a.lost, a.lost > 0 ? Object.entries(a.lostByState).map(([s, n]) => `${n} ${s}`).join(', ') + (a.wrongResults > 0 ? `; ${a.wrongResults} wrong result` : '') : 'not completed within the bound, or wrong result'),
    row('duplicated completions', a.duplicateStoredCompletions, 'completed twice in the store (a bug)'),
    row('handler finished twice', a.handlerRanTwice, 'at-least-once after a lease loss (allowed)'),
    row('duplicate completed events', a.duplicateCompletedEvents, 'tasks with >1 task.completed in the event log'),
    row('checkpointed steps redone', a.checkpointedStepsRedone, `steps run again after their checkpoint was durable (${a.tasksWithRedoneSteps} tasks)`),
    row('steps executed / needed', `${a.stepsExecuted}/${a.stepsNeeded}`, 'above needed: steps re-run because their checkpoint was not saved yet'),
    row('recoveries', a.recoveries, `reclaims after a worker stopped heartbeating (${a.recoveredEvents} task.recovered events)`),
    row('runs / resumed from checkpoint', `${a.runs}/${a.resumedRuns}`),
    row('failed runs / retries', `${a.failedRuns}/${a.retries}`, errors),
    row('bad checkpoints', a.badCheckpoints),
    row('workers killed / spawned', `${r.kills}/${r.workersSpawned}`, r.unexpectedExits.length > 0 ? `${r.unexpectedExits.length} exited on their own` : ''),
    ...(config.restartEveryMs !== null ? [row('server restarts', r.serverRestarts, `longest downtime ${r.maxRestartDowntimeMs} ms`)] : []),
    ...(config.terminateEveryMs !== null ? [row('connections terminated', r.connectionsTerminated, `in ${r.terminateRounds} pg_terminate_backend rounds`)] : []),
    row('seconds', r.seconds.toFixed(1), r.drained ? 'first enqueue → every task terminal' : `time bound of ${config.maxSeconds} s reached`),
    ...a.lostDetails.map((d) => `  lost: ${d}`),
    ...(a.examples.duplicates.length > 0 ? [`  duplicated e.g.: ${a.examples.duplicates.join(' ')}`] : []),
    ...(a.examples.redone.length > 0 ? [`  redone e.g.: ${a.examples.redone.join(' ')}`] : []),
    ...(r.keptDir ? [`  journals and worker logs kept in ${r.keptDir}`] : []),
    ...r.unexpectedExits.slice(0, 2).map((u) => `  worker ${u.pid} exited (code ${u.code}, signal ${u.signal}):\n${u.logTail.replace(/^/gm, '    ')}`),
    failed.length === 0 ? 'verdict: PASS' : `verdict: FAIL — ${failed.join('; ')}`,
    '',
  ].join('\n');
}

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let config: ChaosConfig;
  try {
    config = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  log(commandOf(config));
  // A watchdog past the time bound: setup, audit and cleanup are bounded too, but the command
  // must stop by itself whatever hangs.
  const watchdog = setTimeout(
    () => {
      log('watchdog: the run overran its time bound by 5 minutes; exiting');
      process.exit(2);
    },
    (config.maxSeconds + 300) * 1_000,
  );
  watchdog.unref();
  let report: RunReport;
  try {
    report = await runChaos(config, log, interrupt.signal);
  } catch (err) {
    log(`run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 2;
  }
  const failed = failures(report.audit);
  process.stdout.write(render(config, report, failed));
  const { examples: _examples, lostDetails: _details, ...numbers } = report.audit;
  const summary = {
    command: commandOf(config),
    backend: config.backend,
    ...numbers,
    seconds: Number(report.seconds.toFixed(1)),
    drained: report.drained,
    kills: report.kills,
    workersSpawned: report.workersSpawned,
    unexpectedExits: report.unexpectedExits.length,
    serverRestarts: report.serverRestarts,
    connectionsTerminated: report.connectionsTerminated,
    pass: failed.length === 0,
  };
  process.stdout.write(`RESULT ${JSON.stringify(summary)}\n`);
  return failed.length === 0 ? 0 : 1;
}

// First signal: stop the run and clean up (namespace, servers, temp dir). Second: exit now; the
// 'exit' hook still kills the run's workers and throwaway servers.
const interrupt = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupt.signal.aborted) process.exit(130);
    log(`${sig}: stopping and cleaning up (again to exit at once)`);
    interrupt.abort();
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`unexpected: ${String(err)}`);
    process.exit(2);
  },
);
