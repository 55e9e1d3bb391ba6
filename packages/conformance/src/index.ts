// @baton/conformance: the contract suite every Baton backend adapter runs. Each test gets a fresh
// backend from the target, uses real time with short leases, and reads the backend's declared
// capabilities instead of guessing: a test of a capability the backend does not declare shows
// as skipped. Every part is exported, so an adapter implementing some ports runs just those.
import type { Backend } from '@baton/core/adapter';
import { adminApiSuite } from './admin-api-suite.js';
import { adminStoreSuite } from './admin-store-suite.js';
import { atomicEventsSuite } from './atomic-events-suite.js';
import { backendSuite } from './backend-suite.js';
import { capabilitiesSuite } from './capabilities-suite.js';
import { checkpointStoreSuite } from './checkpoint-store-suite.js';
import { coordinationStoreSuite } from './coordination-store-suite.js';
import { corruptionSuite } from './corruption-suite.js';
import { badInputSuite } from './bad-input-suite.js';
import { engineRoutingSuite } from './engine-routing-suite.js';
import { engineSuite } from './engine-suite.js';
import { eventLogSuite } from './event-log-suite.js';
import { fencingSuite } from './fencing-suite.js';
import { describeConformance, type ConformanceTarget, type Harness } from './harness.js';
import { heartbeatStoreSuite } from './heartbeat-store-suite.js';
import { queueAdminSuite } from './queue-admin-suite.js';
import { queueLimitsSuite } from './queue-limits-suite.js';
import { queuePrioritySuite } from './queue-priority-suite.js';
import { queueRateLimitSuite } from './queue-rate-limit-suite.js';
import { queueRoutingSuite } from './queue-routing-suite.js';
import { queueSuite } from './queue-suite.js';
import { reclaimSuite } from './reclaim-suite.js';
import { taskFlowSuite } from './task-flow-suite.js';
import { taskLifecycleSuite } from './task-lifecycle-suite.js';
import { taskStoreSuite } from './task-store-suite.js';
import { timerStoreSuite } from './timer-store-suite.js';
import { transitionsSuite } from './transitions-suite.js';

export type { ConformanceTarget, CorruptionHooks, Harness } from './harness.js';
export { describeConformance, itWhen } from './harness.js';
/** A valid NewTask with fresh id and key, for adapter tests of their own; `over` replaces fields. */
export { newTask, queueItem } from './harness.js';
/** Field-by-field difference of two records, for adapter tests that compare with `transitions`. */
export { recordDiff } from './record-diff.js';
/** A logger that keeps what it was told (`lines`: level and message). */
export { captureLogger } from './capture-logger.js';
export { checkChange, LIFECYCLE_CHANGES, type LifecycleChange, type NowField } from './transitions-suite.js';
export type { Subject } from './task-fixtures.js';
export { runProcessSuite } from './process-suite.js';
export type { ProcessTarget } from './process-suite.js';
export { runModelSuite } from './model-suite.js';
export type { ModelSuiteOptions } from './model-suite.js';
export {
  adminApiSuite,
  adminStoreSuite,
  atomicEventsSuite,
  backendSuite,
  badInputSuite,
  capabilitiesSuite,
  checkpointStoreSuite,
  coordinationStoreSuite,
  corruptionSuite,
  engineSuite,
  engineRoutingSuite,
  eventLogSuite,
  fencingSuite,
  heartbeatStoreSuite,
  queueAdminSuite,
  queueLimitsSuite,
  queuePrioritySuite,
  queueRateLimitSuite,
  queueRoutingSuite,
  queueSuite,
  reclaimSuite,
  taskFlowSuite,
  taskLifecycleSuite,
  taskStoreSuite,
  timerStoreSuite,
  transitionsSuite,
};

/** Every part of the suite by name, in the order `runConformanceSuite` registers them. */
export const CONFORMANCE_SUITES = {
  backend: backendSuite,
  capabilities: capabilitiesSuite,
  taskStore: taskStoreSuite,
  transitions: transitionsSuite,
  taskLifecycle: taskLifecycleSuite,
  adminStore: adminStoreSuite,
  atomicEvents: atomicEventsSuite,
  queue: queueSuite,
  queueRouting: queueRoutingSuite,
  queuePriority: queuePrioritySuite,
  queueLimits: queueLimitsSuite,
  queueRateLimit: queueRateLimitSuite,
  queueAdmin: queueAdminSuite,
  reclaim: reclaimSuite,
  fencing: fencingSuite,
  checkpointStore: checkpointStoreSuite,
  timerStore: timerStoreSuite,
  heartbeatStore: heartbeatStoreSuite,
  eventLog: eventLogSuite,
  coordinationStore: coordinationStoreSuite,
  taskFlow: taskFlowSuite,
  corruption: corruptionSuite,
  engine: engineSuite,
  engineRouting: engineRoutingSuite,
  adminApi: adminApiSuite,
  badInput: badInputSuite,
} as const satisfies Record<string, (h: Harness) => void>;

export type ConformanceSuiteName = keyof typeof CONFORMANCE_SUITES;

export interface RunOptions {
  /** Only these parts (default: all), for an adapter that implements some of the ports. */
  suites?: readonly ConformanceSuiteName[];
}

/** Registers the suite's describe/it blocks for `target` in the calling test file. */
export function runConformanceSuite<B extends Backend>(target: ConformanceTarget<B>, options: RunOptions = {}): void {
  const names = options.suites ?? (Object.keys(CONFORMANCE_SUITES) as ConformanceSuiteName[]);
  describeConformance(target, (h) => {
    for (const name of names) CONFORMANCE_SUITES[name](h);
  });
}
