// Model-based tests (fast-check) against the memory backend: on a FakeClock, so "clock advance"
// moves the backend clock exactly (sequences also advance by part of a lease), with its own fused
// flow and without it (core's composition of the single ports, as in a mixed backend); and once
// on the real clock, which takes the same path as the durable backends.
import { runModelSuite } from '@baton/conformance';
import { FakeClock, memoryBackend } from '@baton/memory';

runModelSuite({
  name: 'memory (FakeClock)',
  create: async () => memoryBackend({ clock: new FakeClock() }),
});

runModelSuite({
  name: 'memory (FakeClock, no flow: composeFlow)',
  create: async () => ({ ...memoryBackend({ clock: new FakeClock() }), flow: undefined }),
});

runModelSuite({ name: 'memory (real clock)', create: async () => memoryBackend() }, { numRuns: 5 });
