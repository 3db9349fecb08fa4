/**
 * Bench dispatcher: `npm run bench -- NAME [--json] [bench args]`. Each bench lives in bench/NAME.ts and
 * default-exports a `Bench` (lib/bench.ts). Rows print as a table, or with --json as one JSON object per
 * line on stdout (progress and warnings go to stderr).
 */
import { initEngine } from '../engine/context.js';
import { type Bench, type BenchRow, fixed2, formatTable } from './lib/bench.js';

/** Every bench, loaded on demand. Add a line per bench module. */
const BENCHES: Record<string, () => Promise<{ default: Bench }>> = {
  matmul: () => import('./matmul.js'),
  esm: () => import('./esm.js'),
  ig: () => import('./ig.js'),
  train: () => import('./train.js'),
  browser: () => import('./browser.js'),
  suite: () => import('./suite.js'),
};

async function main(argv: readonly string[]): Promise<number> {
  const json = argv.includes('--json');
  const [name, ...args] = argv.filter((a) => a !== '--json');
  const load = name ? BENCHES[name] : undefined;
  if (!load) {
    const list = await Promise.all(Object.entries(BENCHES).map(async ([n, l]) => `  ${n.padEnd(10)} ${(await l()).default.description}`));
    console.error(`${name ? `unknown bench "${name}". ` : ''}usage: npm run bench -- NAME [--json]\n${list.join('\n')}`);
    return name ? 1 : 0;
  }
  const bench = (await load()).default;
  await initEngine();
  const rows: BenchRow[] = [];
  await bench.run({
    args,
    json,
    emit(row) {
      rows.push(row);
      if (json) console.log(JSON.stringify(row));
      else console.error(`  ${row.case}: ours ${fixed2(row.ours)} ${row.unit}${row.peer ? `, ${row.peer} ${fixed2(row.peer_value ?? 0)}` : ''}`);
    },
    log: (message) => console.error(message),
  });
  if (!json && rows.length) console.log(formatTable(rows));
  return 0;
}

// Exit explicitly: Dawn keeps the event loop alive after the work is done.
process.exit(await main(process.argv.slice(2)));
