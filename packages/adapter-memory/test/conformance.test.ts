import { runConformanceSuite } from '@baton/conformance';
import { memoryBackend } from '@baton/memory';

runConformanceSuite({
  name: 'memory',
  create: async () => memoryBackend(),
});
