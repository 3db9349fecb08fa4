/**
 * `esm-kn serve`: the page (built into dist/www) on 127.0.0.1 until Ctrl-C. The same folder works with
 * any static file server; this one exists so nothing else needs installing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../model/assets.node.js';
import { serveStatic } from './static_server.js';
import { UsageError, intOption, parseArgs } from './args.js';

/** Usage text (esm-kn --help). */
export const SERVE_USAGE = `esm-kn serve [--port 8080]
  Serves the page on http://127.0.0.1:PORT/ (port 0: any free port) until Ctrl-C: the embedded default
  model or a checkpoint you pick (esm-kn, Hugging Face or fair-esm), a FASTA sequence, the predicted EC
  class, per-residue integrated gradients, the top knowledge neurons and their ablation. Needs a browser
  with WebGPU. The page is static: dist/www after 'node scripts/build.mjs' can be hosted anywhere.`;

/** The built static root, or a UsageError saying how to build it. */
export function wwwRoot(): string {
  const root = join(repoRoot(), 'dist', 'www');
  if (!existsSync(join(root, 'index.html')) || !existsSync(join(root, 'web', 'app.js'))) {
    throw new UsageError(`serve: the page is not built (${root} has no index.html and web/app.js): run 'node scripts/build.mjs' first`);
  }
  return root;
}

/** Runs the command; resolves once the server has closed after SIGINT or SIGTERM. */
export async function serveCommand(argv: readonly string[]): Promise<void> {
  const p = parseArgs(argv, { port: { kind: 'value' } }, 'serve');
  if (p.positional.length) throw new UsageError(`serve: takes no positional arguments, got '${p.positional[0]}'`);
  const port = intOption(p, 'port', 8080, 0, 'serve');
  if (port > 65535) throw new UsageError(`serve: --port must be at most 65535, got ${port}`);
  const root = wwwRoot();
  let server;
  try {
    server = await serveStatic({ root, port });
  } catch (e) {
    throw new UsageError(`serve: ${(e as Error).message}`);
  }
  console.log(`esm-kn: serving the page at ${server.url}/ (Ctrl-C to stop)`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
