import type { Command } from 'commander';
import { parseEnv, webUiUrl } from '../config/env';
import { createCodecServer, readTokenFile, validateToken, DEFAULT_CODEC_PORT } from '../codec/codec-server';
import { loadKeyring } from '../codec/keyring';
import { MlcycleError } from '../errors';
import { parsePort } from './options';
import { untilSignal } from './signals';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** `mlcycle codec-server`: the Temporal remote codec protocol over the project's keys (src/codec/codec-server.ts). */
export function addCodecServerCommands(program: Command): void {
  program
    .command('codec-server')
    .description('Serve the Temporal codec protocol (POST /decode, /encode) so the Web UI and `temporal` CLI show decrypted payloads to token holders')
    .option('--host <ip>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port to listen on', parsePort, DEFAULT_CODEC_PORT)
    .option('--origin <url...>', 'Web UI origin(s) a browser may call it from (default: the Web UI URL, MLCYCLE_WEB_UI_URL)')
    .option('--token-file <file>', 'file holding the shared token (default: MLCYCLE_CODEC_TOKEN)')
    .action(async (opts: { host: string; port: number; origin?: string[]; tokenFile?: string }) => {
      const env = parseEnv();
      let token: string;
      if (opts.tokenFile) token = await readTokenFile(opts.tokenFile);
      else if (env.MLCYCLE_CODEC_TOKEN) token = validateToken(env.MLCYCLE_CODEC_TOKEN, 'MLCYCLE_CODEC_TOKEN');
      else {
        // Refusing beats serving decrypted payloads to anyone who can reach the port.
        throw new MlcycleError('USAGE', 'codec-server: no token: set MLCYCLE_CODEC_TOKEN or pass --token-file <file> (e.g. a file holding `openssl rand -base64 32`)');
      }
      const keyring = loadKeyring(env);
      if (!keyring) {
        throw new MlcycleError('CONFIG_INVALID', 'codec-server: no codec keys: set MLCYCLE_CODEC_KEY_FILE or MLCYCLE_CODEC_KEYS, or create the project key file with `mlcycle keys init`');
      }
      const ui = webUiUrl(env);
      const origins = opts.origin ?? (ui ? [ui] : []);
      const server = createCodecServer({ keyring, token, origins, host: opts.host, port: opts.port, uiUrl: ui, log });
      const signal = untilSignal();
      const { url } = await server.start();
      console.log(`codec server at ${url} (keys: ${[...keyring.keys.keys()].join(', ')} from ${keyring.source})`);
      console.log(`browser origins: ${origins.join(', ') || 'none (Bearer clients only; pass --origin)'}`);
      console.log(`authorize a browser at ${url}/ ; CLI: temporal workflow show --codec-endpoint ${url} --codec-auth "Bearer $MLCYCLE_CODEC_TOKEN" …`);
      console.log('ready');
      await signal;
      await server.stop();
    });
}
