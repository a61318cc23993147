/**
 * Administrative commands over the registry's trust records: the approver directory, approval
 * policies and the verification of the audit log. They need the storage credentials, like every
 * registry write; that is what makes them administrative.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { checkApproverName, defaultApproverKeyFile, generateApproverKey } from '../approval/approver-keys';
import { decisionProblem } from '../approval/approval-policy';
import { MlcycleError } from '../errors';
import { checkPolicy, checkPublicKey, createTrustRecords, DEFAULT_POLICY, type ApprovalPolicy } from '../registry/trust-records';
import { withRegistry } from './models';
import path from 'node:path';

const adminActor = () => process.env.USER || process.env.LOGNAME || 'admin';

export function addTrustCommands(program: Command): void {
  const approvers = program.command('approvers').description('Approver identities: Ed25519 keys in the registry\'s approver directory');

  approvers
    .command('keygen <name>')
    .description('Create an Ed25519 key pair; writes the private key (0600) and prints the public key')
    .option('--out <file>', 'private key file (default ~/.config/mlcycle/approvers/<name>.key)')
    .action(async (name: string, opts: { out?: string }) => {
      checkApproverName(name);
      const file = opts.out ? path.resolve(opts.out) : defaultApproverKeyFile(name);
      const { publicKey } = await generateApproverKey(file);
      process.stderr.write(`private key written to ${file} (mode 0600); register the public key with: mlcycle approvers add ${name} ${publicKey}\n`);
      console.log(publicKey);
    });

  approvers
    .command('add <name> <publicKey>')
    .description('Register (or replace) an approver\'s public key; audited')
    .option('--as <identity>', 'administrator making the change (audit log)', adminActor())
    .action(async (name: string, publicKey: string, opts: { as: string }) => {
      checkApproverName(name);
      checkPublicKey(publicKey);
      await withRegistry(async (_registry, store) => {
        await createTrustRecords({ store }).addApprover(name, publicKey, opts.as);
        console.log(`approver ${name} registered with ${publicKey}`);
      });
    });

  approvers
    .command('revoke <name>')
    .description('Revoke an approver\'s key: their signatures no longer count from now on; audited')
    .option('--as <identity>', 'administrator making the change (audit log)', adminActor())
    .action(async (name: string, opts: { as: string }) => {
      checkApproverName(name);
      await withRegistry(async (_registry, store) => {
        await createTrustRecords({ store }).revokeApprover(name, opts.as);
        console.log(`approver ${name} revoked`);
      });
    });

  approvers
    .command('list')
    .description('List approvers and their keys')
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { json?: boolean }) => {
      await withRegistry(async (_registry, store) => {
        const dir = await createTrustRecords({ store }).directory();
        const rows = Object.entries(dir.approvers)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([name, { keys }]) => {
            const active = keys.filter((k) => k.revokedAt === undefined).at(-1);
            return { name, status: active ? 'active' : 'revoked', publicKey: active?.publicKey ?? null, keys };
          });
        if (opts.json) {
          console.log(JSON.stringify({ approvers: rows }, null, 2));
          return;
        }
        if (!rows.length) console.log('no approvers registered (mlcycle approvers keygen <name>, then approvers add)');
        for (const r of rows) console.log(`${r.name}  ${r.status}  ${r.publicKey ?? ''}`);
      });
    });

  const policy = program.command('policy').description('Approval policies: protected aliases and the signed approvals they need');

  policy
    .command('set [model]')
    .description('Protect aliases of a model (or, with --default, of every model without its own policy); audited')
    .option('--default', 'the default policy for all models')
    .addOption(new Option('--protect <aliases>', 'comma-separated aliases to protect').makeOptionMandatory())
    .addOption(new Option('--approvers <names>', 'comma-separated approver names').makeOptionMandatory())
    .addOption(new Option('--required <n>', 'signed approvals needed').makeOptionMandatory())
    .option('--timeout <duration>', 'how long a gate waits (e.g. 7d) when the spec says nothing')
    .option('--as <identity>', 'administrator making the change (audit log)', adminActor())
    .action(async (model: string | undefined, opts: { default?: boolean; protect: string; approvers: string; required: string; timeout?: string; as: string }) => {
      if (Boolean(model) === Boolean(opts.default)) throw new MlcycleError('USAGE', 'policy set: name a model or pass --default (not both)');
      const required = Number(opts.required);
      if (!Number.isInteger(required) || required < 1) throw new MlcycleError('USAGE', `--required: expected a whole number >= 1, got "${opts.required}"`);
      const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
      // Bad input is refused before anything connects.
      const value: ApprovalPolicy = checkPolicy({ protect: list(opts.protect), approvers: list(opts.approvers), required, ...(opts.timeout ? { timeout: opts.timeout } : {}) });
      await withRegistry(async (_registry, store) => {
        await createTrustRecords({ store }).setPolicy(model ?? DEFAULT_POLICY, value, opts.as);
        console.log(`policy for ${model ?? 'all models (default)'}: ${value.protect.join(', ')} protected, ${required} of ${value.approvers.join(', ')}`);
      });
    });

  policy
    .command('show [model]')
    .description('Show the policy that applies to a model, or every policy')
    .option('--json', 'print machine-readable JSON')
    .action(async (model: string | undefined, opts: { json?: boolean }) => {
      await withRegistry(async (_registry, store) => {
        const trust = createTrustRecords({ store });
        const records = model ? [await trust.policyFor(model)].filter((r) => r !== undefined) : await trust.policies();
        const out = records.map((r) => ({ scope: r.scope === DEFAULT_POLICY ? 'default' : r.scope, ...r.policy, setAt: r.setAt, setBy: r.setBy }));
        if (opts.json) {
          console.log(JSON.stringify(model ? { model, policy: out[0] ?? null } : { policies: out }, null, 2));
          return;
        }
        if (!out.length) console.log(model ? `no policy applies to ${model}` : 'no policies set');
        for (const p of out) console.log(`${p.scope}: protect ${p.protect.join(', ')}; ${p.required} of ${p.approvers.join(', ')}${p.timeout ? `; timeout ${p.timeout}` : ''} (set ${p.setAt} by ${p.setBy})`);
      });
    });

  program
    .command('audit')
    .description('The audit log')
    .command('verify <model>')
    .description('Re-verify every approval decision in a model\'s audit log against the approver directory; exit 1 naming each one that does not verify')
    .option('--json', 'print machine-readable JSON')
    .action(async (model: string, opts: { json?: boolean }) => {
      await withRegistry(async (registry, store) => {
        const directory = await createTrustRecords({ store }).directory();
        const entries = (await registry.audit(model)).filter((e) => e.action === 'approve' || e.action === 'reject');
        const results = entries.map((e) => {
          const r = decisionProblem(e, directory);
          return { at: e.at, actor: e.actor, action: e.action, version: e.version ?? null, verified: typeof r !== 'string', ...(typeof r === 'string' ? { problem: r } : { runId: r.runId, workflowId: r.workflowId }) };
        });
        const failed = results.filter((r) => !r.verified);
        if (opts.json) console.log(JSON.stringify({ model, decisions: results.length, verified: results.length - failed.length, failed, entries: results }, null, 2));
        else {
          for (const r of results) console.log(`${r.verified ? 'ok  ' : 'FAIL'}  ${r.at}  v${r.version}  ${r.action} by ${r.actor}${r.verified ? '' : `: ${(r as { problem?: string }).problem}`}`);
          console.log(`${results.length - failed.length}/${results.length} decisions verified`);
        }
        if (failed.length) throw new MlcycleError('DATA_INVALID', `audit verify ${model}: ${failed.length} decision(s) do not verify: ${failed.map((f) => `${f.at} ${f.action} by ${f.actor} (v${f.version}): ${(f as { problem?: string }).problem}`).join('; ')}`);
      });
    });
}
