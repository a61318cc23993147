import type { Command } from 'commander';
import { DEFAULT_S3_ENDPOINT, parseEnv, s3Settings, stateDir, temporalAddress, webUiUrl } from '../config/env';
import { loadKeyring } from '../codec/keyring';
import { consoleToken, startConsole } from '../console/launch';
import { DEFAULT_CONSOLE_PORT } from '../console/server';
import { parsePort } from './options';
import { untilSignal } from './signals';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** `mlcycle ui`: the console (src/console/) over the configured Temporal and S3. */
export function addUiCommand(program: Command): void {
  program
    .command('ui')
    .description('Serve the mlcycle console: models, lineage, reports, runs, monitors and an approvals inbox in the browser')
    .option('--port <port>', 'port to listen on', parsePort, DEFAULT_CONSOLE_PORT)
    .option('--host <ip>', 'address to bind', '127.0.0.1')
    .option('--token-file <file>', 'file holding the sign-in token (default: MLCYCLE_CONSOLE_TOKEN, else <state dir>/console-token, created on first use)')
    .action(async (opts: { port: number; host: string; tokenFile?: string }) => {
      const env = parseEnv();
      const token = await consoleToken({ ...(opts.tokenFile ? { tokenFile: opts.tokenFile } : {}), env, stateDir: stateDir(env), log });
      const ui = webUiUrl(env);
      const signal = untilSignal();
      const running = await startConsole({
        address: temporalAddress(env),
        namespace: env.TEMPORAL_NAMESPACE,
        ...(ui ? { webUiUrl: ui } : {}),
        queuePrefix: env.MLCYCLE_QUEUE_PREFIX,
        keyring: loadKeyring(env),
        s3: s3Settings(env, DEFAULT_S3_ENDPOINT),
        token,
        host: opts.host,
        port: opts.port,
        log,
      });
      console.log(`Console:    ${running.url} (sign in with the token in ${running.tokenFrom})`);
      console.log('ready');
      await signal;
      await running.stop();
    });
}
