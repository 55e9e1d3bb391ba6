// What every command is: its flags, whether it migrates, and how it runs against a ready baton.
import type { ParseArgsConfig } from 'node:util';
import { ValidationError, type Baton } from '@baton/core';
import type { BackendSpec } from './connect.js';
import type { Style } from './format.js';
import type { Io } from './io.js';

export const EXIT = { ok: 0, failed: 1, usage: 2, backend: 3, declined: 4 } as const;

/** What a command gets: its parsed flags and positionals, a ready baton, and the terminal. */
export interface CommandContext {
  args: string[];
  flags: Record<string, string | boolean | undefined>;
  json: boolean;
  yes: boolean;
  io: Io;
  s: Style;
  baton: Baton;
  spec: BackendSpec;
  now: number;
}

export interface Command {
  options: NonNullable<ParseArgsConfig['options']>;
  /** Opens the backend with pending migrations applied (migrate) instead of refusing a stale schema. */
  migrate?: boolean;
  run(ctx: CommandContext): Promise<number>;
}


/** Asks before a destructive change; refuses without a terminal unless --yes. */
export async function confirm(ctx: CommandContext, question: string): Promise<boolean> {
  if (ctx.yes) return true;
  if (!ctx.io.isTTY) throw new ValidationError(`${question} — not on a terminal: pass --yes to confirm.`);
  const answer = (await ctx.io.prompt(`${question} [y/N] `)).trim().toLowerCase();
  return answer === 'y' || answer === 'yes';
}
