// The built UI (Vite's output, shipped in this package's dist/ui), read from disk once and served
// from memory. Only files found by walking that folder are served, so no request path can reach
// anything else on disk (no traversal to guard against).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Uint8Array;
  type: string;
  /** Vite put a content hash in the name: it can be cached forever. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** This module's folder, in the ESM build, the CJS build and the TypeScript sources alike. */
function here(): string {
  // tsup's shims give the CJS build an import.meta.url; vitest runs the sources as ESM.
  return dirname(fileURLToPath(import.meta.url));
}

/** dist/ui next to the built entry, or packages/dashboard/dist/ui when running from src/. */
export function defaultAssetsDir(): string | null {
  const dir = here();
  for (const candidate of [join(dir, 'ui'), join(dir, '..', 'dist', 'ui')]) if (existsSync(join(candidate, 'index.html'))) return candidate;
  return null;
}

export function loadAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else {
        const path = relative(dir, full).split(sep).join('/');
        const ext = name.slice(name.lastIndexOf('.'));
        out.set(path, { body: readFileSync(full), type: TYPES[ext] ?? 'application/octet-stream', immutable: path.startsWith('assets/') });
      }
    }
  };
  walk(dir);
  return out;
}
