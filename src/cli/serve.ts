import { InvalidArgumentError, Option, type Command } from 'commander';
import fs from 'node:fs';
import { MlcycleError } from '../errors';
import { DEFAULT_S3_ENDPOINT, parseEnv, s3Settings } from '../config/env';
import { ALIAS_NAME, MODEL_NAME, createModelRegistry } from '../registry/model-registry';
import { createPredictionServer, type OutOfRangeRule } from '../serving/prediction-server';
import { createArtifactStore } from '../storage/artifact-store';
import { checkS3Reachable, createS3Client } from '../storage/s3-client';
import { untilSignal } from './signals';
import { parsePort, parsePositiveInt } from './options';

const log = (line: string) => process.stderr.write(`${line}\n`);

function matching(re: RegExp, what: string) {
  return (value: string): string => {
    if (!re.test(value)) throw new InvalidArgumentError(`"${value}" is not a valid ${what}`);
    return value;
  };
}


function readServeToken(file: string): string {
  let token: string;
  try {
    token = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new MlcycleError('CONFIG_INVALID', `--token-file: cannot read ${file}: ${(err as Error).message}`);
  }
  if (token.length < 16 || /\s/.test(token)) throw new MlcycleError('CONFIG_INVALID', `--token-file: the token in ${file} must be at least 16 characters without spaces`);
  return token;
}

/** `mlcycle serve`: the HTTP prediction service for one model alias (see src/serving/prediction-server.ts). */
export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('Serve predictions over HTTP for a registered model (POST /predict, GET /healthz, GET /metrics)')
    .requiredOption('--model <name>', 'registered model name', matching(MODEL_NAME, 'model name'))
    .option('--alias <alias>', 'alias (or deployment) to serve', matching(ALIAS_NAME, 'alias name'), 'production')
    .option('--host <ip>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port to listen on', parsePort, 8080)
    .option('--refresh-ms <ms>', 'how often to re-read the deployment record / alias', parsePositiveInt, 1000)
    .option('--token-file <file>', 'require Authorization: Bearer <token> (the file\'s content) on /predict and /metrics')
    .addOption(new Option('--out-of-range <rule>', 'numeric inputs far outside the training data (non-finite, or beyond 1e6 × the training scale); overrides each model\'s serve.outOfRange (default: that, else refuse)').choices(['refuse', 'clip', 'allow']))
    .action(async (opts: { model: string; alias: string; host: string; port: number; refreshMs: number; tokenFile?: string; outOfRange?: OutOfRangeRule }) => {
      const token = opts.tokenFile ? readServeToken(opts.tokenFile) : undefined;
      const settings = s3Settings(parseEnv(), DEFAULT_S3_ENDPOINT);
      const client = createS3Client(settings);
      try {
        await checkS3Reachable(client, settings);
        const store = createArtifactStore({ client, bucket: settings.bucket, prefix: settings.prefix });
        const server = createPredictionServer({
          store,
          registry: createModelRegistry({ store }),
          model: opts.model,
          alias: opts.alias,
          host: opts.host,
          port: opts.port,
          refreshMs: opts.refreshMs,
          ...(opts.outOfRange ? { outOfRange: opts.outOfRange } : {}),
          ...(token ? { token } : {}),
          log,
        });
        const signal = untilSignal();
        const { url } = await server.start();
        const serving = server.current();
        console.log(`serving ${opts.model} (${opts.alias}) at ${url}${serving.stable === null ? ' (no version loaded yet)' : ` v${serving.stable}`}`);
        console.log('ready');
        await signal;
        log('stopping: finishing requests in flight, flushing prediction logs…');
        await server.stop();
        log('stopped');
      } finally {
        client.destroy();
      }
    });
}
