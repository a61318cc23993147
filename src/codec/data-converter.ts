import fs from 'node:fs';
import path from 'node:path';
import type { DataConverter } from '@temporalio/common';
import { AesGcmPayloadCodec, type CodecOptions } from './aes-gcm-codec';
import type { Keyring } from './keyring';

/** failure-converter.ts from sources, .js when compiled: the workflow bundler needs a file path. */
export const FAILURE_CONVERTER_PATH =
  ['failure-converter.ts', 'failure-converter.js'].map((f) => path.join(__dirname, f)).find((f) => fs.existsSync(f)) ??
  path.join(__dirname, 'failure-converter.js');

/**
 * The codec plus the failure converter that routes messages and stack traces through it. The
 * converter goes by path, which is how the SDK loads it in clients, workers and (bundled) in the
 * workflow sandbox alike.
 */
export function mlcycleDataConverter(keyring: Keyring | undefined, opts: CodecOptions = {}): DataConverter {
  return { payloadCodecs: [new AesGcmPayloadCodec(keyring, opts)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** Workers: an input that cannot be decoded reaches the workflow as a refusable marker, never as a failed task. */
export function workerDataConverter(keyring: Keyring | undefined): DataConverter {
  return mlcycleDataConverter(keyring, { onUndecodable: 'marker' });
}
