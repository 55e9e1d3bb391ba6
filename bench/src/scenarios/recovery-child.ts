// Child of scenario 6: takes every task, saves a checkpoint (where the system has that API),
// reports it holds the task, then holds until killed (or its lifetime cap, so it never lingers).
import { checkpointData } from '../payload.js';
import { systemById } from '../systems/index.js';
import { sleep } from '../time.js';
import { tell } from './child.js';

interface Args {
  system: string;
  ns: string;
  tasks: number;
  stallTimeoutMs: number;
  lifetimeMs: number;
}

const args = JSON.parse(process.argv[2] ?? '{}') as Args;
const lifetime = setTimeout(() => process.exit(3), args.lifetimeMs);
const system = systemById(args.system);
const unusable = await system.probe();
if (unusable === null) {
  const inst = await system.open(args.ns, { concurrency: args.tasks, stallTimeoutMs: args.stallTimeoutMs });
  await inst.startWorker(
    async (p, job) => {
      tell({ started: p.i });
      if (job.checkpoint) await job.checkpoint(1, checkpointData(1));
      tell({ held: p.i });
      await sleep(args.lifetimeMs);
    },
    () => undefined,
  );
  tell({ ready: true });
} else {
  clearTimeout(lifetime);
  process.stderr.write(`recovery child: ${args.system} is not usable here: ${unusable}\n`);
  process.exitCode = 2;
}
