import { MlcycleClient } from '../client/mlcycle-client';

/** A client configured from the environment for the length of one CLI command. */
export async function withClient<T>(fn: (client: MlcycleClient) => Promise<T>): Promise<T> {
  const client = await MlcycleClient.fromEnv();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
