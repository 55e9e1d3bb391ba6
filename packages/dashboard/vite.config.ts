import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The UI is built once, at package build time, into dist/ui and served by the handler from there:
// no CDN and no request to the internet at run time. `base: './'` makes every asset URL relative,
// so the same build works under any mount path. Hashed names let the handler cache them forever.
export default defineConfig({
  root: fileURLToPath(new URL('./ui', import.meta.url)),
  base: './',
  // JSX compiles to Preact's automatic runtime with Vite's own transformer: no Babel preset needed.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('./dist/ui', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // No source maps in the shipped UI: they would double its size for no operator's benefit.
    sourcemap: false,
    // One small bundle: the page is a few hundred lines of UI code on top of Preact.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
