import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = path.join(__dirname, '..', '..');

/**
 * The project-local venv for the Python trainers (scripts/python-venv.sh: created or reused) and its
 * bin folder put first on PATH, so a spec's `command: [python, train.py]` runs with it in the
 * in-process workers.
 */
export async function usePythonVenv(name = 'trainer', requirements = 'python/requirements.txt'): Promise<string> {
  const { stdout } = await run('bash', [path.join(ROOT, 'scripts', 'python-venv.sh'), name, requirements], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 30 * 60_000 });
  const python = stdout.trim().split('\n').at(-1)!;
  process.env.PATH = `${path.dirname(python)}${path.delimiter}${process.env.PATH ?? ''}`;
  return python;
}

/** A copy of examples/<name> in a temporary folder with its data generated. */
export async function exampleCopy(python: string, name: string, rows?: number): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `mlcycle-${name}-`));
  await fs.cp(path.join(ROOT, 'examples', name), dir, { recursive: true, filter: (src) => !src.includes(`${path.sep}data`) });
  await run(python, ['generate_data.py', ...(rows ? [String(rows)] : [])], { cwd: dir });
  return dir;
}
