/**
 * `mlcycle serve` alone, for test/serving/serve-command.int.test.ts: the command as
 * src/cli/serve.ts defines it, whether or not src/cli/main.ts has it wired in yet.
 *   node --require tsx/cjs test/serving/serve-driver.ts serve --model <name> …
 */
import { Command } from 'commander';
import { addServeCommand } from '../../src/cli/serve';
import { isMlcycleError } from '../../src/errors';

const program = new Command('mlcycle').exitOverride();
addServeCommand(program);
program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`mlcycle: ${isMlcycleError(err) ? err.message : String(err)}\n`);
  process.exitCode = isMlcycleError(err) ? err.exitCode : 2;
});
