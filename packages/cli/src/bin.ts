// The `baton` executable.
import { main } from './cli.js';
import { processIo } from './io.js';

// Exit explicitly: a driver's idle sockets must not keep an operator's shell waiting.
main(process.argv.slice(2), processIo()).then((code) => process.exit(code));
