// @baton/memory public API.
export { memoryBackend } from './memory-backend.js';
export type { MemoryBackend, MemoryBackendOptions } from './memory-backend.js';
export { FakeClock } from './fake-clock.js';
export type { FakeClockOptions } from './fake-clock.js';
