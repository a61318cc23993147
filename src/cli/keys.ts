import path from 'node:path';
import fs from 'node:fs';
import type { Command } from 'commander';
import { parseEnv, type Env } from '../config/env';
import { defaultKeyFile, generateKeyringFile, keyFilePath, loadKeyring, readKeyringFile, rotateKeyringFile, writeKeyringFile } from '../codec/keyring';
import { MlcycleError } from '../errors';

/** The file init and rotate write: --file, else MLCYCLE_CODEC_KEY_FILE, else the project's default. */
function keyFileFor(env: Env, file: string | undefined): string {
  if (file) return path.resolve(file);
  if (env.MLCYCLE_CODEC_KEYS) {
    throw new MlcycleError('USAGE', 'keys: MLCYCLE_CODEC_KEYS holds the keys inline, so there is no file to change; pass --file <file> or change the variable where you keep it');
  }
  return keyFilePath(env);
}

/** `mlcycle keys init|rotate|show`: the payload encryption keyring; key material is never printed. */
export function addKeysCommands(program: Command): void {
  const keys = program.command('keys').description('Manage the payload encryption keys (AES-256-GCM keyring)');

  keys
    .command('init')
    .description('Create the key file with one new key (MLCYCLE_CODEC_KEY_FILE or .mlcycle/codec-keys.json)')
    .option('--file <file>', 'key file to create')
    .action(async (opts: { file?: string }) => {
      const file = keyFileFor(parseEnv(), opts.file);
      // Overwriting would make every history written with the old keys unreadable.
      if (fs.existsSync(file)) throw new MlcycleError('USAGE', `keys init: ${file} already exists; use \`mlcycle keys rotate\` to add a new key`);
      const created = generateKeyringFile();
      await writeKeyringFile(file, created);
      console.log(`created ${file} (mode 0600) with active key ${created.active}`);
    });

  keys
    .command('rotate')
    .description('Add a new key and make it active; old keys stay so existing histories remain readable')
    .option('--file <file>', 'key file to rotate')
    .action(async (opts: { file?: string }) => {
      const file = keyFileFor(parseEnv(), opts.file);
      if (!fs.existsSync(file)) throw new MlcycleError('USAGE', `keys rotate: no key file at ${file}; create one with \`mlcycle keys init\``);
      const before = await readKeyringFile(file);
      const after = rotateKeyringFile(before);
      await writeKeyringFile(file, after);
      console.log(`${file}: active key ${before.active} → ${after.active} (kept for decoding: ${Object.keys(before.keys).join(', ')})`);
      console.log('restart workers, clients and the codec server so they encrypt with the new key and can decode it');
    });

  keys
    .command('show')
    .description('List key ids and which one is active (never the keys themselves)')
    .option('--file <file>', 'key file to read')
    .option('--json', 'print machine-readable JSON')
    .action(async (opts: { file?: string; json?: boolean }) => {
      const env = parseEnv();
      const keyring = loadKeyring(opts.file ? { ...env, MLCYCLE_CODEC_KEYS: undefined, MLCYCLE_CODEC_KEY_FILE: path.resolve(opts.file) } : env);
      if (!keyring) {
        throw new MlcycleError('CONFIG_INVALID', `keys show: no codec keys configured (no MLCYCLE_CODEC_KEYS, MLCYCLE_CODEC_KEY_FILE or ${defaultKeyFile(env)}); create them with \`mlcycle keys init\``);
      }
      const ids = [...keyring.keys.keys()];
      if (opts.json) {
        console.log(JSON.stringify({ source: keyring.source, active: keyring.activeId, keys: ids }));
        return;
      }
      console.log(`keys from ${keyring.source}:`);
      for (const id of ids) console.log(`  ${id}${id === keyring.activeId ? '  (active)' : ''}`);
    });
}
