import fs from 'node:fs';
import path from 'node:path';
import type { FaultRecord } from './fault-driver';
import type { RegistryCheck } from './invariants';

export interface RunSummary {
  scenario: string;
  workflowId: string;
  status: string;
  /** The error, for runs meant to fail. */
  error?: string;
  intendedFailure: boolean;
  version?: number;
  attempts: Record<string, number>;
  resumedFrom?: number;
}

/**
 * The machine-readable result of a fault run, quoted in issue notes: what was injected where, and
 * whether the promises held. Filled in by the scenarios as they finish.
 */
export class FaultReport {
  readonly startedAt = new Date();
  readonly faults: FaultRecord[] = [];
  readonly runs: RunSummary[] = [];
  readonly registry: RegistryCheck[] = [];
  readonly findings: string[] = [];
  temporalRestarts = { tried: 0, survived: 0, workersDiedOnTheirOwn: 0, workerRestartsNeeded: 0 };
  minioOutages = { tried: 0, survived: 0, outageMs: [] as number[], missed: [] as string[] };

  constructor(
    readonly seed: string,
    readonly mode: 'ci' | 'soak',
  ) {}

  finding(line: string): void {
    if (!this.findings.includes(line)) this.findings.push(line);
  }

  toJSON() {
    const kills = this.faults.filter((f) => f.kind === 'kill-workers');
    const byStage: Record<string, { tried: number; hit: number; landedIn: Record<string, number> }> = {};
    for (const k of kills) {
      const s = (byStage[k.target] ??= { tried: 0, hit: 0, landedIn: {} });
      s.tried++;
      if (k.hit) s.hit++;
      s.landedIn[k.landed] = (s.landedIn[k.landed] ?? 0) + 1;
    }
    const sum = (f: (r: RegistryCheck) => number) => this.registry.reduce((a, r) => a + f(r), 0);
    return {
      seed: this.seed,
      mode: this.mode,
      startedAt: this.startedAt.toISOString(),
      durationMs: Date.now() - this.startedAt.getTime(),
      killPoints: {
        tried: kills.length,
        hit: kills.filter((k) => k.hit).length,
        byStage,
        list: kills.map((k) => ({
          run: k.workflowId,
          target: k.target,
          landed: k.landed,
          hit: k.hit,
          inFlight: k.inFlight,
          delayMs: k.delayMs,
          ...(k.trainEpoch !== undefined ? { trainEpoch: k.trainEpoch } : {}),
          atMs: k.atMs,
          downMs: k.downMs,
        })),
      },
      runs: {
        started: this.runs.length,
        completed: this.runs.filter((r) => r.status === 'completed').length,
        failedAsIntended: this.runs.filter((r) => r.intendedFailure && r.status === 'failed').length,
        unexpected: this.runs.filter((r) => (r.intendedFailure ? r.status !== 'failed' : r.status !== 'completed')).length,
        list: this.runs,
      },
      duplicates: {
        versions: sum((r) => r.duplicateRegistrations.length),
        aliasMoves: sum((r) => r.duplicateAliasMoves.length),
        registeredAuditEntries: sum((r) => r.registeredAuditProblems.length),
        otherAuditEntries: sum((r) => r.duplicateAuditEntries.length),
      },
      artifacts: { verified: sum((r) => r.artifactsVerified), hashMismatches: sum((r) => r.hashMismatches.length) },
      temporalRestarts: this.temporalRestarts,
      minioOutages: this.minioOutages,
      registry: this.registry,
      otherFaults: this.faults.filter((f) => f.kind !== 'kill-workers'),
      findings: this.findings,
    };
  }

  /** Always to stderr (so a CI log carries it); also to MLCYCLE_FAULT_REPORT when set. */
  publish(): void {
    const json = JSON.stringify(this.toJSON(), null, 2);
    console.error(`[faults] summary (seed ${this.seed}, ${this.mode}):\n${json}`);
    const target = process.env.MLCYCLE_FAULT_REPORT;
    if (target) {
      fs.mkdirSync(path.dirname(path.resolve(target)), { recursive: true });
      fs.writeFileSync(target, `${json}\n`);
    }
  }
}
