import { CHECKPOINT } from './checkpoint.js';
import { ENQUEUE_BATCH } from './enqueue-batch.js';
import { ENQUEUE_SINGLE } from './enqueue-single.js';
import { LATENCY } from './latency.js';
import { MEMORY } from './memory.js';
import { PROCESS } from './process.js';
import { RECOVERY } from './recovery.js';
import { ROUTING } from './routing.js';
import type { Scenario } from './types.js';

export const SCENARIOS: Scenario[] = [ENQUEUE_SINGLE, ENQUEUE_BATCH, PROCESS, LATENCY, CHECKPOINT, RECOVERY, MEMORY, ROUTING];
