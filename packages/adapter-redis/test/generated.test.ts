// The committed Lua modules must be what the .lua files generate, every script must carry its
// header, resolve its includes, keep only what it reaches, and compile on the server.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { scripts } from '../src/scripts.js';
import { REDIS_URL, redisUp } from './helpers.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));

describe('embedded Lua', () => {
  for (const [dir, out] of [
    ['src/lua', 'src/lua.generated.ts'],
    ['src/lua/includes', 'src/lua-includes.generated.ts'],
  ] as const) {
    it(`${out} is up to date with ${dir}/*.lua`, () => {
      expect(() => execFileSync(process.execPath, ['../../scripts/embed-files.mjs', dir, 'lua', out, '--check'], { cwd: pkg, stdio: 'pipe' })).not.toThrow();
    });
  }

  it('every script has its KEYS/ARGV/Reply header and its includes resolved', () => {
    for (const s of Object.values(scripts)) {
      expect(s.source, s.name).toMatch(/^-- KEYS/m);
      expect(s.source, s.name).toMatch(/^-- ARGV/m);
      expect(s.source, s.name).toMatch(/^-- Reply/m);
      expect(s.source, s.name).not.toMatch(/^-- @include/m);
      expect(s.sha, s.name).toMatch(/^[0-9a-f]{40}$/);
    }
  });

  it('a script carries only the library definitions it reaches', () => {
    expect(scripts['get-tasks'].source).not.toMatch(/claimDeliveries|finishTask|appendEvents/);
    expect(scripts['claim-start'].source).toMatch(/local function claimDeliveries/);
    expect(scripts['claim-start'].source).toMatch(/local function startTask/);
    expect(scripts['claim-start'].source).not.toMatch(/local function retryTask/);
  });

  it.skipIf(!redisUp)('every script compiles on the server', async () => {
    const r = new Redis(REDIS_URL);
    try {
      for (const s of Object.values(scripts)) expect(await r.call('SCRIPT', ['LOAD', s.source]), s.name).toBe(s.sha);
    } finally {
      r.disconnect();
    }
  });
});
