import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** The URL a listening server answers on (IPv6 addresses in brackets). */
export function listeningUrl(info: AddressInfo): string {
  return `http://${info.family === 'IPv6' ? `[${info.address}]` : info.address}:${info.port}`;
}

/** start/stop for a fastify app the CLI and tests run: start listens and says where; stop is safe to repeat. */
export function fastifyLifecycle(app: FastifyInstance, where: { host: string; port: number }): { start(): Promise<{ url: string }>; stop(): Promise<void> } {
  let started = false;
  return {
    async start() {
      await app.listen(where);
      started = true;
      return { url: listeningUrl(app.server.address() as AddressInfo) };
    },
    async stop() {
      if (started) await app.close();
      started = false;
    },
  };
}
