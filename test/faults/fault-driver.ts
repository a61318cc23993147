import type { KeyObject } from 'node:crypto';
import type { MlcycleClient } from '../../src/client/mlcycle-client';
import type { RunStatus } from '../../src/client/run-status';
import { isMlcycleError } from '../../src/errors';
import { ACTIVITY_OF, probeRun, sleep, stageIndex, until, type RunProbe, type Stage } from './run-probe';

export type FaultKind = 'kill-workers' | 'restart-temporal' | 'minio-outage';

/** A seeded fault: fire `delayMs` after the run enters `target` (for train: once `trainEpoch` is reached). */
export interface Fault {
  kind: FaultKind;
  target: Stage;
  delayMs: number;
  /** train only: the epoch the heartbeat must have reported (past a checkpoint) before firing. */
  trainEpoch?: number;
  /** How long the killed or stopped thing stays down. */
  downMs: number;
}

export interface FaultRecord {
  scenario: string;
  workflowId: string;
  kind: FaultKind;
  target: Stage;
  /** The stage the fault actually landed in ('not reached' when the run ended first). */
  landed: string;
  /** Activities a worker held when it fired (type#attempt). */
  inFlight: string[];
  /** Landed in the target stage; for an activity stage, while a worker held that activity. */
  hit: boolean;
  delayMs: number;
  downMs: number;
  trainEpoch?: number;
  /** Since the run started. */
  atMs: number;
  notes: string[];
}

export interface InjectContext {
  client: MlcycleClient;
  workflowId: string;
  fault: Fault;
  /** The injector waits this long before striking (0 when the stage went by between two polls). */
  delayMs: number;
  /** The run as the trigger saw it. */
  before: RunProbe;
  /** The injector cast the approval vote itself (a kill during the approval wait votes while no worker runs). */
  markApproved(): void;
}

export type Injection = Pick<FaultRecord, 'landed' | 'inFlight' | 'hit' | 'downMs'> & { notes?: string[] };
export type Injector = (ctx: InjectContext) => Promise<Injection>;

export interface DriveOptions {
  client: MlcycleClient;
  workflowId: string;
  scenario: string;
  /** In stage order. */
  faults: Fault[];
  inject: Injector;
  approver: string;
  /** The approver's signing key (registered in the run's approver directory). */
  approverKey: KeyObject;
  timeoutMs: number;
  /** Runs on every poll, e.g. to bring back workers that died on their own. */
  tick?: () => Promise<void>;
  log?: (line: string) => void;
}

export function inFlightOf(p: RunProbe): string[] {
  return p.activities.filter((a) => a.started).map((a) => `${a.type}#${a.attempt}`);
}

/** Whether `p` is inside `target` the way a fault aimed at it means: its activity running, the gate open. */
export function landedIn(target: Stage, p: RunProbe): boolean {
  const act = ACTIVITY_OF[target];
  if (act) return p.activities.some((a) => a.type === act && a.started);
  return p.stage === target;
}

/**
 * Drives one pipeline run to its end: fires each fault when the run reaches the fault's stage,
 * approves at the gate (as a reviewer would), and returns the final status with what each fault
 * hit. Polls through describe (no worker needed), so a run whose workers are down or whose server
 * is restarting is simply "not yet".
 */
export async function driveRun(o: DriveOptions): Promise<{ status: RunStatus; faults: FaultRecord[] }> {
  const started = Date.now();
  const pending = [...o.faults];
  const records: FaultRecord[] = [];
  let approved = false;
  let lastStatusAt = 0;
  let trainDone = 0;

  const trainProgress = async (): Promise<number> => {
    // Heartbeat progress needs the status query; it is cheap but not free, so not every 15 ms.
    if (Date.now() - lastStatusAt < 150) return trainDone;
    lastStatusAt = Date.now();
    const s = await o.client.status(o.workflowId);
    const train = s.steps.find((x) => x.name === 'train');
    trainDone = train?.state === 'running' ? (train.progress?.done ?? 0) : 0;
    return trainDone;
  };

  /** undefined: not yet; otherwise fire now (possibly late: the stage went by between two polls). */
  const shouldFire = async (f: Fault, p: RunProbe): Promise<{ late: boolean } | undefined> => {
    const here = stageIndex(p.stage);
    const target = stageIndex(f.target);
    if (here > target) return { late: true };
    if (here < target) return undefined;
    const act = ACTIVITY_OF[f.target];
    if (f.target === 'train') {
      if (!p.activities.some((a) => a.type === act && a.started)) return undefined;
      return (await trainProgress()) >= (f.trainEpoch ?? 0) ? { late: false } : undefined;
    }
    // A short activity can come and go between two polls: scheduled is close enough to arm.
    if (act) return p.activities.some((a) => a.type === act) ? { late: false } : undefined;
    return { late: false };
  };

  for (;;) {
    if (Date.now() - started > o.timeoutMs) {
      throw new Error(`${o.scenario}: run ${o.workflowId} still running after ${o.timeoutMs} ms (faults so far: ${JSON.stringify(records)})`);
    }
    await o.tick?.();
    let p: RunProbe;
    try {
      p = await probeRun(o.client, o.workflowId);
    } catch {
      await sleep(250);
      continue;
    }
    if (p.execution !== 'RUNNING') break;

    const next = pending[0];
    if (next) {
      let fire: { late: boolean } | undefined;
      try {
        fire = await shouldFire(next, p);
      } catch {
        fire = undefined;
      }
      if (fire) {
        const firedAt = Date.now();
        const delayMs = fire.late ? 0 : next.delayMs;
        const result = await o.inject({ client: o.client, workflowId: o.workflowId, fault: next, delayMs, before: p, markApproved: () => (approved = true) });
        records.push({
          scenario: o.scenario,
          workflowId: o.workflowId,
          kind: next.kind,
          target: next.target,
          delayMs,
          ...(next.target === 'train' ? { trainEpoch: trainDone } : {}),
          atMs: firedAt - started,
          ...result,
          notes: result.notes ?? [],
        });
        o.log?.(`${o.scenario}: ${next.kind} aimed at ${next.target} landed in ${result.landed}${result.hit ? '' : ' (missed)'}, in flight: ${result.inFlight.join(', ') || 'nothing'}, down ${result.downMs} ms`);
        pending.shift();
        continue;
      }
    }

    if (p.stage === 'approval' && !approved && next?.target !== 'approval') {
      try {
        await o.client.decide(o.workflowId, { decision: 'approve', approver: o.approver, comment: 'fault suite' }, o.approverKey);
        approved = true;
      } catch (err) {
        // A vote that already counted (an earlier attempt that looked failed) is as good as cast.
        if (isMlcycleError(err) && err.code === 'DECISION_REFUSED' && /already voted|closed/.test(err.message)) approved = true;
      }
    }
    await sleep(next ? 15 : 200);
  }

  for (const f of pending) {
    records.push({ scenario: o.scenario, workflowId: o.workflowId, kind: f.kind, target: f.target, landed: 'not reached', inFlight: [], hit: false, delayMs: f.delayMs, downMs: 0, atMs: Date.now() - started, notes: [] });
  }
  const status = await until('the final status', () => o.client.status(o.workflowId), 120_000, 500);
  o.log?.(`${o.scenario}: ${o.workflowId} ${status.status} after ${Math.round((Date.now() - started) / 1000)} s${status.error ? `: ${status.error}` : ''}`);
  return { status, faults: records };
}
