// The committed Lua module must be what the .lua files generate, and every script must load.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { scripts } from '../src/scripts.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));

describe('embedded Lua', () => {
  it('src/lua.generated.ts is up to date with src/lua/*.lua', () => {
    expect(() =>
      execFileSync(process.execPath, ['../../scripts/embed-files.mjs', 'src/lua', 'lua', 'src/lua.generated.ts', '--check'], { cwd: pkg, stdio: 'pipe' }),
    ).not.toThrow();
  });

  it('every script has its KEYS/ARGV/Reply header and its includes resolved', () => {
    for (const s of Object.values(scripts)) {
      expect(s.source, s.name).toMatch(/^-- KEYS/m);
      expect(s.source, s.name).toMatch(/^-- ARGV/m);
      expect(s.source, s.name).toMatch(/^-- Reply/m);
      expect(s.source, s.name).not.toMatch(/^-- @include/m);
      expect(s.sha, s.name).toMatch(/^[0-9a-f]{40}$/);
    }
  });
});
