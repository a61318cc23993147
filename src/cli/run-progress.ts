import type { RunStatus } from '../client/run-status';

const ICON: Record<string, string> = { pending: '·', running: '▶', completed: '✔', failed: '✖', skipped: '↷' };

function describeStep(step: RunStatus['steps'][number]): string {
  const parts = [`${ICON[step.state] ?? '?'} ${step.name.padEnd(9)} ${step.state}`];
  if (step.cached) parts.push('(cached)');
  if (step.progress) parts.push(`${step.progress.done}/${step.progress.total}`);
  if (step.attempts > 1) parts.push(`attempt ${step.attempts}`);
  // 0 means a first attempt that started from scratch: nothing was resumed.
  if (step.resumedFrom) parts.push(`resumed from epoch ${step.resumedFrom}`);
  if (step.summary && step.state !== 'running') parts.push(`— ${step.summary}`);
  return parts.join(' ');
}

/**
 * Terminal progress for `run --wait`: on a TTY the step table is redrawn in place; elsewhere (CI,
 * pipes) only changed lines are printed, so logs stay readable.
 */
export class RunProgress {
  private lastLines: string[] = [];
  private drawn = 0;

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  update(status: RunStatus): void {
    const lines = status.steps.map(describeStep);
    if (this.out.isTTY) {
      if (this.drawn) this.out.write(`\x1b[${this.drawn}A`);
      for (const line of lines) this.out.write(`\x1b[2K${line}\n`);
      this.drawn = lines.length;
    } else {
      lines.forEach((line, i) => {
        if (this.lastLines[i] !== line) this.out.write(`${line}\n`);
      });
    }
    this.lastLines = lines;
  }
}
