import { Option, type Command } from 'commander';
import { withClient } from './client-session';


/** `mlcycle approvals list`, `mlcycle approve`, `mlcycle reject`: the reviewer's side of the gate. */
export function addApprovalCommands(program: Command): void {
  program
    .command('approvals')
    .description('Approval gates')
    .command('list')
    .description('List runs waiting for approval')
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const pending = await client.pendingApprovals();
        if (opts.json) {
          console.log(JSON.stringify(pending, null, 2));
          return;
        }
        if (!pending.length) console.log('no approvals pending');
        for (const { workflowId, gate } of pending) {
          const approvals = gate.votes.filter((v) => v.decision === 'approve').length;
          console.log(`${workflowId}  ${gate.model} v${gate.version}  ${approvals}/${gate.required} approvals  deadline ${gate.deadline}`);
          console.log(`    metrics: ${Object.entries(gate.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
          console.log(`    approve: mlcycle approve ${workflowId} --as <identity>`);
        }
      });
    });

  program
    .command('approve <workflowId>')
    .description('Approve the model waiting in a run')
    .addOption(new Option('--as <identity>', 'who approves (must be on the approver list)').makeOptionMandatory())
    .option('--comment <text>', 'a comment for the audit log')
    .action(async (workflowId: string, opts: { as: string; comment?: string }) => {
      await withClient(async (client) => {
        const gate = await client.decide(workflowId, { decision: 'approve', identity: opts.as, ...(opts.comment ? { comment: opts.comment } : {}) });
        const approvals = gate.votes.filter((v) => v.decision === 'approve').length;
        console.log(`approved by ${opts.as}: ${approvals}/${gate.required} approvals, gate ${gate.status}`);
      });
    });

  program
    .command('reject <workflowId>')
    .description('Reject the model waiting in a run')
    .addOption(new Option('--as <identity>', 'who rejects (must be on the approver list)').makeOptionMandatory())
    .addOption(new Option('--reason <text>', 'why (required, recorded in the audit log)').makeOptionMandatory())
    .action(async (workflowId: string, opts: { as: string; reason: string }) => {
      await withClient(async (client) => {
        const gate = await client.decide(workflowId, { decision: 'reject', identity: opts.as, reason: opts.reason });
        console.log(`rejected by ${opts.as}: gate ${gate.status}`);
      });
    });
}
