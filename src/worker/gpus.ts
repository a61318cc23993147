import { spawnSync } from 'node:child_process';

/**
 * GPU indices visible to this machine. CUDA_VISIBLE_DEVICES, when set, is the operator's choice and
 * wins; otherwise nvidia-smi is asked. No GPU (or no driver) yields an empty list.
 */
export function detectGpus(env: NodeJS.ProcessEnv = process.env): number[] {
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined && visible.trim() !== '') {
    return visible
      .split(',')
      .map((s) => Number.parseInt(s.trim(), 10))
      .filter((n) => Number.isInteger(n) && n >= 0);
  }
  const r = spawnSync('nvidia-smi', ['--query-gpu=index', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0 || !r.stdout) return [];
  return r.stdout
    .split('\n')
    .map((s) => Number.parseInt(s.trim(), 10))
    .filter((n) => Number.isInteger(n));
}
