import { Option, type Command } from 'commander';
import { withClient } from './client-session';
import { loadPipelineSpec } from '../spec/pipeline-spec';

/** `mlcycle monitor start|pause|resume|trigger|status <model>`: the monitor's Temporal Schedule. */
export function addMonitorCommands(program: Command): void {
  const monitor = program.command('monitor').description('Drift monitoring and continuous training (a Temporal Schedule per model)');

  monitor
    .command('start <model>')
    .description('Start monitoring a deployed model, with the spec whose monitor: section configures it')
    .addOption(new Option('--spec <file>', 'the pipeline spec (monitor: section; retrains run it)').makeOptionMandatory())
    .action(async (model: string, opts: { spec: string }) => {
      // The spec is checked before anything is contacted.
      const loaded = await loadPipelineSpec(opts.spec);
      await withClient(async (client) => {
        const { scheduleId, every } = await client.monitor.start(loaded, { model });
        console.log(`monitoring ${model} every ${every} (schedule ${scheduleId})`);
      });
    });

  for (const [name, what] of [
    ['pause', 'Pause the monitor'],
    ['resume', 'Resume a paused monitor'],
    ['trigger', 'Run a check now'],
  ] as const) {
    monitor
      .command(`${name} <model>`)
      .description(what)
      .option('--note <text>', 'why (kept on the schedule)')
      .action(async (model: string, opts: { note?: string }) => {
        await withClient(async (client) => {
          if (name === 'pause') await client.monitor.pause(model, opts.note ?? 'paused from the CLI');
          else if (name === 'resume') await client.monitor.resume(model, opts.note ?? 'resumed from the CLI');
          else await client.monitor.trigger(model);
          console.log(`${model}: monitor ${name === 'trigger' ? 'check triggered' : `${name}d`}`);
        });
      });
  }

  monitor
    .command('status <model>')
    .description('Show the monitor: paused or not, recent and next checks, the latest verdict')
    .option('--json', 'print machine-readable JSON')
    .action(async (model: string, opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const out = await client.monitor.status(model);
        const { latest, ...d } = out;
        const last = d.recentChecks.at(-1);
        if (opts.json) console.log(JSON.stringify(out, null, 2));
        else {
          console.log(`${model}: ${d.paused ? 'paused' : 'active'}${d.note ? ` (${d.note})` : ''}; next check ${d.nextChecks[0] ?? '—'}`);
          if (latest) console.log(`latest check ${last?.workflowId}: ${JSON.stringify(latest)}`);
        }
      });
    });
}
