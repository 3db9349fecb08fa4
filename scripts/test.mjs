// Runs the uvu suites in dist/test and prints one closing line "N passed, N failed".
// Every suite file runs in one process (one GPU device); uvu's own summary is kept above.
import { spawnSync } from 'node:child_process';

const r = spawnSync(process.execPath, ['node_modules/uvu/bin.js', 'dist/test', '.test.js$'], {
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
  maxBuffer: 256 * 2 ** 20,
});
process.stdout.write(r.stdout ?? '');
const total = Number(/Total:\s+(\d+)/.exec(r.stdout ?? '')?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(r.stdout ?? '')?.[1] ?? 0);
const skipped = Number(/Skipped:\s+(\d+)/.exec(r.stdout ?? '')?.[1] ?? 0);
const failed = total - passed - skipped;
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (r.status !== 0 || failed > 0 || skipped > 0 || total === 0) process.exit(r.status || 1);
