/**
 * `esm-kn serve`: serves the built page on 127.0.0.1 until SIGINT, and a taken port or a bad --port is
 * one line on stderr with a non-zero exit. Build first (node scripts/build.mjs).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI } from './lib/cli.js';

test('serve prints its URL, serves the page and the default model, stops on SIGINT', async () => {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const url = await new Promise<string>((ok, fail) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /serving the page at (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
        if (m) ok(m[1]!);
      });
      child.once('exit', (code) => fail(new Error(`serve exited early (${code})`)));
      setTimeout(() => fail(new Error(`no URL printed: ${out}`)), 20_000);
    });
    const index = await fetch(`${url}/`);
    assert.is(index.status, 200);
    assert.match(await index.text(), /<script type="module" src="web\/app\.js">/);
    for (const path of ['/web/app.js', '/style.css', '/example.fasta', '/models/default/esm-kn.json', '/models/default/model.safetensors']) {
      const r = await fetch(url + path);
      assert.is(r.status, 200, path);
      await r.arrayBuffer();
    }
    assert.is((await fetch(`${url}/../package.json`)).status, 404);
  } finally {
    const exited = new Promise<number | null>((ok) => child.once('exit', (code) => ok(code)));
    child.kill('SIGINT');
    assert.is(await exited, 0, 'exits 0 on SIGINT');
  }
});

test('a taken port and a bad --port are one-line errors', async () => {
  const blocker = createServer();
  await new Promise<void>((ok) => blocker.listen(0, '127.0.0.1', ok));
  const port = (blocker.address() as { port: number }).port;
  try {
    for (const [args, pattern] of [
      [['--port', String(port)], new RegExp(`^esm-kn: serve: port ${port} on 127\\.0\\.0\\.1 is in use; pick another with --port\\n$`)],
      [['--port', 'web'], /^esm-kn: serve: --port must be an integer >= 0, got 'web'\n$/],
      [['--port', '70000'], /^esm-kn: serve: --port must be at most 65535, got 70000\n$/],
      [['--host', 'x'], /^esm-kn: serve: unknown option --host/],
    ] as const) {
      const r = spawnSync(process.execPath, [CLI, 'serve', ...args], { encoding: 'utf8', timeout: 20_000 });
      assert.is(r.status, 2, `exit code for ${args.join(' ')}`);
      assert.match(r.stderr, pattern);
    }
  } finally {
    blocker.close();
  }
});

test.run();
