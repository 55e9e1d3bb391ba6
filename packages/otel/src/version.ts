// Reported as the instrumentation scope version of every span and metric (kept equal to
// package.json's by a test).
export const VERSION = '0.2.0';
