// @baton/conformance: the contract suite every Baton backend adapter runs. Each test gets a fresh
// backend from the target, uses real time with short leases, and reads the backend's declared
// capabilities instead of guessing.
import { describe } from 'vitest';
import { backendSuite } from './backend-suite.js';
import { checkpointStoreSuite } from './checkpoint-store-suite.js';
import { engineSuite } from './engine-suite.js';
import { eventLogSuite } from './event-log-suite.js';
import { fencingSuite } from './fencing-suite.js';
import { createHarness, type ConformanceTarget } from './harness.js';
import { heartbeatStoreSuite } from './heartbeat-store-suite.js';
import { queueSuite } from './queue-suite.js';
import { taskLifecycleSuite } from './task-lifecycle-suite.js';
import { taskStoreSuite } from './task-store-suite.js';
import { taskFlowSuite } from './task-flow-suite.js';
import { timerStoreSuite } from './timer-store-suite.js';

export type { ConformanceTarget } from './harness.js';
/** A valid NewTask with fresh id and key, for adapter tests of their own; `over` replaces fields. */
export { newTask } from './harness.js';
export { runProcessSuite } from './process-suite.js';
export type { ProcessTarget } from './process-suite.js';

/** Registers the suite's describe/it blocks for `target` in the calling test file. */
export function runConformanceSuite(target: ConformanceTarget): void {
  describe(`conformance: ${target.name}`, () => {
    const h = createHarness(target);
    backendSuite(h);
    taskStoreSuite(h);
    taskLifecycleSuite(h);
    queueSuite(h);
    fencingSuite(h);
    checkpointStoreSuite(h);
    timerStoreSuite(h);
    heartbeatStoreSuite(h);
    eventLogSuite(h);
    taskFlowSuite(h);
    engineSuite(h);
  });
}
