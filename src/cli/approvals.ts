import { Option, type Command } from 'commander';
import { withClient } from './client-session';
import { checkApproverName, defaultApproverKeyFile, loadApproverKey } from '../approval/approver-keys';
import type { DecideOutcome } from '../client/mlcycle-client';

function describeOutcome(what: string, who: string, r: DecideOutcome): string {
  if (!r.gate) return `${what} by ${who}: accepted by the gate (its answer could not be read here: ${r.unreadable ?? 'no result'})`;
  const approvals = r.gate.votes.filter((v) => v.decision === 'approve').length;
  return `${what} by ${who}: ${approvals}/${r.gate.required} approvals, gate ${r.gate.status}`;
}

/** `mlcycle approvals list`, `mlcycle approve`, `mlcycle reject`: the reviewer's side of the gate. */
export function addApprovalCommands(program: Command): void {
  program
    .command('approvals')
    .description('Approval gates')
    .command('list')
    .description('List runs waiting for approval (and gates that cannot be read)')
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const pending = await client.pendingApprovals();
        if (opts.json) {
          console.log(JSON.stringify(pending, null, 2));
          return;
        }
        if (!pending.length) console.log('no approvals pending');
        for (const { workflowId, gate, error } of pending) {
          if (!gate) {
            console.log(`${workflowId}  (gate unreadable) ${error ?? ''}`);
            continue;
          }
          const approvals = gate.votes.filter((v) => v.decision === 'approve').length;
          console.log(`${workflowId}  ${gate.model} v${gate.version}  ${approvals}/${gate.required} approvals  deadline ${gate.deadline}${gate.policy ? `  policy ${gate.policy}` : ''}`);
          if (error) console.log(`    PROBLEM: ${error}`);
          console.log(`    metrics: ${Object.entries(gate.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
          console.log(`    approvers: ${gate.approvers.join(', ')}`);
          for (const r of gate.refused.slice(-5)) console.log(`    refused ${r.identity}: ${r.reason}`);
          console.log(`    approve: mlcycle approve ${workflowId} --as <name> [--key <file>]`);
        }
      });
    });

  const keyOption = () => new Option('--key <file>', 'private key to sign with (default ~/.config/mlcycle/approvers/<name>.key)');

  program
    .command('approve <workflowId>')
    .description('Approve the model waiting in a run, signed with your approver key')
    .addOption(new Option('--as <name>', 'approver name (in the approver directory and on the gate\'s list)').makeOptionMandatory())
    .addOption(keyOption())
    .option('--comment <text>', 'a comment for the audit log (signed with the decision)')
    .action(async (workflowId: string, opts: { as: string; key?: string; comment?: string }) => {
      const name = checkApproverName(opts.as);
      const key = loadApproverKey(opts.key ?? defaultApproverKeyFile(name));
      await withClient(async (client) => {
        const r = await client.approve(workflowId, { approver: name, key, ...(opts.comment ? { comment: opts.comment } : {}) });
        console.log(describeOutcome('approved', name, r));
      });
    });

  program
    .command('reject <workflowId>')
    .description('Reject the model waiting in a run, signed with your approver key')
    .addOption(new Option('--as <name>', 'approver name (in the approver directory and on the gate\'s list)').makeOptionMandatory())
    .addOption(keyOption())
    .addOption(new Option('--reason <text>', 'why (required, signed and recorded in the audit log)').makeOptionMandatory())
    .action(async (workflowId: string, opts: { as: string; key?: string; reason: string }) => {
      const name = checkApproverName(opts.as);
      const key = loadApproverKey(opts.key ?? defaultApproverKeyFile(name));
      await withClient(async (client) => {
        const r = await client.reject(workflowId, { approver: name, key, reason: opts.reason });
        console.log(describeOutcome('rejected', name, r));
      });
    });
}
