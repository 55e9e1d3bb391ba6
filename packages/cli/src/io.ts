// What the CLI talks to: its streams, the terminal and the environment — injected so tests drive
// the same code the bin runs.
import { createInterface } from 'node:readline';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** stdout is a terminal: colours and confirmation prompts are allowed. */
  readonly isTTY: boolean;
  /** Asks on the terminal; resolves with the answer line. */
  prompt(question: string): Promise<string>;
  readonly env: Record<string, string | undefined>;
  /** Resolves when the user interrupts (Ctrl-C). */
  interrupted(): Promise<void>;
}

export function processIo(): Io {
  return {
    out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
    isTTY: process.stdout.isTTY === true && process.stdin.isTTY === true,
    prompt: (question) =>
      new Promise((resolve) => {
        const rl = createInterface({ input: process.stdin, output: process.stdout });
        rl.question(question, (answer) => {
          rl.close();
          resolve(answer);
        });
      }),
    env: process.env,
    interrupted: () => new Promise((resolve) => process.once('SIGINT', () => resolve())),
  };
}
