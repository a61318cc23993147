import { parseEnv, temporalAddress, webUiUrl } from '../config/env';
import { MlcycleClient } from '../client/mlcycle-client';
import { loadKeyring } from '../codec/keyring';

/** A client configured from the environment for the length of one CLI command. */
export async function withClient<T>(fn: (client: MlcycleClient) => Promise<T>): Promise<T> {
  const env = parseEnv();
  const client = await MlcycleClient.connect({ address: temporalAddress(env), namespace: env.TEMPORAL_NAMESPACE, webUiUrl: webUiUrl(env), queuePrefix: env.MLCYCLE_QUEUE_PREFIX, keyring: loadKeyring(env) });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
