#!/usr/bin/env node
/**
 * `npm run build`, after tsc: the command line as one bundle (dist/cli/), for every command but
 * `start`. Node.js 20 resolves, reads and compiles each module file apart; the few hundred that
 * commander, yaml, zod and drizzle are made of took `wasl letters show` from ~110 ms (Node.js
 * itself) to ~500 ms, a bundle to ~300 ms. `start` keeps running dist/src/: its worker threads
 * (the relay, the PDF renderer) are files found beside their modules (bin/wasl.js picks).
 * Each command's modules stay in their own chunks (splitting), loaded as the command runs.
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', 'main.js')],
  outdir,
  bundle: true,
  splitting: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // A native addon: loaded from node_modules as it is.
  external: ['better-sqlite3'],
  // Less source to parse; names are kept, so a stack trace still says where.
  minifyWhitespace: true,
  minifySyntax: true,
  // The CommonJS libraries bundled (commander) call require(), which an ES module has not.
  banner: { js: "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);" },
  logLevel: 'warning',
});
