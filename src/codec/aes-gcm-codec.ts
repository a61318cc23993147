import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { MlcycleError } from '../errors';
import type { Keyring } from './keyring';
import { undecodable } from './undecodable';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const CIPHER = 'AES-256-GCM';
export const METADATA_KEY_ID = 'encryption-key-id';
export const METADATA_CIPHER = 'encryption-cipher';

/** Encodings the default payload converter reads; anything else cannot become a value. */
const KNOWN_ENCODINGS = new Set(['json/plain', 'binary/null', 'binary/plain']);

export interface CodecOptions {
  /**
   * Where keys are configured, inbound plaintext is refused (default: true with a keyring): an
   * attacker with Temporal access but no keys cannot slip a plaintext signal or input past it.
   */
  strict?: boolean;
  /**
   * `marker` (workers): a payload that cannot be decoded becomes the `undecodable` marker, which
   * workflows refuse one input at a time; throwing would fail every workflow task from then on.
   * `throw` (clients, the codec server): an error naming the problem.
   */
  onUndecodable?: 'throw' | 'marker';
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const utf8 = (s: string) => Buffer.from(s, 'utf8');

/**
 * AES-256-GCM over the whole serialized payload (data and metadata, so not even the encoding of
 * the plaintext leaks). The key id travels in clear metadata so a keyring holding old keys can
 * still read histories written before a rotation; it is also the GCM additional data, so a payload
 * cannot be relabelled to another key. Payloads that are not encrypted pass through, which lets a
 * namespace hold both old plaintext histories and new encrypted ones.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly strict: boolean;
  private readonly marker: boolean;

  /** Without a keyring the codec decodes nothing and passes plaintext through. */
  constructor(
    private readonly keyring: Keyring | undefined,
    opts: CodecOptions = {},
  ) {
    this.strict = opts.strict ?? keyring !== undefined;
    this.marker = opts.onUndecodable === 'marker';
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const keyring = this.keyring;
    if (!keyring) return payloads;
    const key = keyring.keys.get(keyring.activeId) as Buffer;
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(utf8(keyring.activeId));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return {
        metadata: {
          encoding: utf8(ENCRYPTED_ENCODING),
          [METADATA_CIPHER]: utf8(CIPHER),
          [METADATA_KEY_ID]: utf8(keyring.activeId),
        },
        data: Buffer.concat([iv, body, cipher.getAuthTag()]),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (!this.marker) return this.decodeOne(payload);
      try {
        return checkDecodable(this.decodeOne(payload));
      } catch (err) {
        return markerPayload(err instanceof Error ? err.message : String(err));
      }
    });
  }

  private decodeOne(payload: Payload): Payload {
    {
      if (!isEncrypted(payload)) {
        if (this.strict) {
          throw new MlcycleError('CODEC_PLAINTEXT_REFUSED', `plaintext payload (encoding ${JSON.stringify(encodingOf(payload))}) refused: codec keys are configured, so every payload must be encrypted with them`);
        }
        return payload;
      }
      const keyId = Buffer.from(payload.metadata?.[METADATA_KEY_ID] ?? []).toString('utf8');
      const key = this.keyring?.keys.get(keyId);
      if (!key) {
        throw new MlcycleError(
          'CODEC_KEY_UNKNOWN',
          this.keyring
            ? `payload encrypted with key "${keyId}", which ${this.keyring.source} does not hold`
            : `payload encrypted with key "${keyId}" but no codec keys are configured (set MLCYCLE_CODEC_KEY_FILE or MLCYCLE_CODEC_KEYS)`,
        );
      }
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) {
        throw new MlcycleError('CODEC_DECRYPT_FAILED', `encrypted payload (key "${keyId}") is truncated: ${data.length} bytes`);
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
        decipher.setAAD(utf8(keyId));
        decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
        const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
        return temporal.api.common.v1.Payload.decode(plain);
      } catch (err) {
        throw new MlcycleError('CODEC_DECRYPT_FAILED', `payload (key "${keyId}") failed authentication: wrong key or tampered data`, { cause: err });
      }
    }
  }
}

function encodingOf(payload: Payload): string {
  const e = payload.metadata?.encoding;
  return e ? Buffer.from(e).toString('utf8').slice(0, 64) : '(none)';
}

/** The payload converter must be able to read what a worker hands the workflow sandbox. */
function checkDecodable(payload: Payload): Payload {
  const encoding = encodingOf(payload);
  if (!KNOWN_ENCODINGS.has(encoding)) throw new MlcycleError('CODEC_DECRYPT_FAILED', `unknown payload encoding ${JSON.stringify(encoding)}`);
  if (encoding === 'json/plain') {
    try {
      JSON.parse(Buffer.from(payload.data ?? []).toString('utf8'));
    } catch {
      throw new MlcycleError('CODEC_DECRYPT_FAILED', 'json/plain payload is not valid JSON');
    }
  }
  return payload;
}

function markerPayload(reason: string): Payload {
  return { metadata: { encoding: utf8('json/plain') }, data: utf8(JSON.stringify(undecodable(reason.slice(0, 300)))) };
}

export function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.encoding;
  return encoding !== undefined && encoding !== null && Buffer.from(encoding).toString('utf8') === ENCRYPTED_ENCODING;
}
