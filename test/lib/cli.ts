/** The built CLI (node dist/cli/main.js) run from tests, and its stderr without Dawn's start-up noise. */
import { spawn, spawnSync } from 'node:child_process';

/** The built CLI's entry. */
export const CLI = 'dist/cli/main.js';

/** The CLI's result: exit status and output. */
export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI (node dist/cli/main.js) to completion. */
export function cli(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI without waiting; the caller may kill it. */
export function cliAsync(...args: string[]): ReturnType<typeof spawn> {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** stderr lines that are not Dawn's start-up warnings (which it prints on some adapters). */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l && !l.startsWith('Warning: maxDynamic'));
}
