/**
 * Starting a PyTorch CPU peer (bench/peers/*.py) at full strength: Debian's python3-torch, with the
 * machine's OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from the peer's own environment (they pin
 * OpenBLAS to older kernels; the machine notes advise unsetting them to benchmark, and OpenBLAS reads
 * them when it loads, so the peer cannot drop them itself). Our own process keeps its environment.
 * Each peer sets its thread count to the machine's cores and reports the threads and BLAS core type
 * it ran with (peers/peer_env.py); the bench logs that line. OpenMP threads wait passively (peerEnv).
 */
import { spawnSync } from 'node:child_process';

/** Variables a peer must not inherit: they hold OpenBLAS back. */
export const HELD_BACK_VARIABLES: readonly string[] = ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'];

/** A Python interpreter that imports torch. */
export interface TorchPython {
  readonly python: string;
  readonly version: string;
}

let found: TorchPython | null | undefined;

/**
 * The Python with torch: Debian's python3-torch lives under /usr/bin/python3, while `python3` on PATH
 * may be another interpreter (a pyenv shim) without it, so /usr/bin/python3 is tried first.
 */
export function torchPython(): TorchPython | null {
  if (found !== undefined) return found;
  found = null;
  for (const python of ['/usr/bin/python3', 'python3']) {
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', env: peerEnv() });
    if (probe.status === 0) {
      found = { python, version: probe.stdout.trim() };
      break;
    }
  }
  return found;
}

/**
 * Our environment without the variables that hold OpenBLAS back, and with OMP_WAIT_POLICY=PASSIVE
 * unless set: torch's OpenMP threads otherwise spin after each parallel region and take the cores from
 * OpenBLAS's own threads (on the loaded 2-core machine this made the peer 2.5x slower on the t6_8M
 * forward and about 10x slower on IG; bench/docs/peers.md).
 */
export function peerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of HELD_BACK_VARIABLES) delete env[k];
  env['OMP_WAIT_POLICY'] ??= 'PASSIVE';
  return env;
}

/** A peer's JSON result line, with the description of how it ran (`info`). */
export type PeerResult = Readonly<Record<string, unknown>> & { readonly info: string };

/**
 * Runs `bench/peers/SCRIPT` with ARGS in the peer environment and returns its last stdout line as
 * JSON, or null (the reason logged) when torch is missing or the peer fails.
 */
export function runTorchPeer(script: string, args: readonly string[], log: (m: string) => void): PeerResult | null {
  const torch = torchPython();
  if (!torch) {
    log('peer: python3-torch is not installed (bash scripts/setup_bench.sh, or apt-get install python3-torch); PyTorch column left empty');
    return null;
  }
  const r = spawnSync(torch.python, [`bench/peers/${script}`, ...args], { encoding: 'utf8', env: peerEnv(), maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) {
    log(`peer: ${script} failed: ${(r.stderr || String(r.error ?? '')).trim().split('\n').pop()}`);
    return null;
  }
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const parsed: unknown = JSON.parse(line);
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { info?: unknown }).info !== 'string') throw new Error(`peer ${script} printed no result line: ${line}`);
  const result = parsed as PeerResult;
  log(`peer: ${result.info} (${torch.python})`);
  return result;
}

/** A number field of a peer's result (NaN when absent). */
export function peerNumber(r: PeerResult, key: string): number {
  const v = r[key];
  return typeof v === 'number' ? v : Number.NaN;
}
