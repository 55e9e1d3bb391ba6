// @baton/cli as a library: run the CLI in-process (tests, custom wrappers) or resolve a backend URL.
export { main } from './cli.js';
export { EXIT } from './command.js';
export type { Command, CommandContext } from './command.js';
export { parseBackendUrl } from './connect.js';
export type { BackendSpec, BackendKind, Connection } from './connect.js';
export type { Io } from './io.js';
export type { Style } from './format.js';
export { processIo } from './io.js';
