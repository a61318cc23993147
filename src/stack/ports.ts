import { readFileSync } from 'node:fs';
import net from 'node:net';
import { MlcycleError } from '../errors';

export async function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export async function assertPortFree(port: number, service: string, hint: string, host = '127.0.0.1'): Promise<void> {
  if (!(await isPortFree(port, host))) {
    throw new MlcycleError('PORT_IN_USE', `${service}: port ${port} on ${host} is already in use (${hint})`);
  }
}

/**
 * A free loopback port for a service this process starts (tests and `mlcycle dev` run beside a
 * developer's stack). Chosen below the kernel's ephemeral range where there is room: a port from
 * that range can be taken as the local end of any outgoing connection between this check and the
 * service's bind, or while the service is down for a restart on the same port.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [low] = ephemeralRange();
  if (low - STABLE_FLOOR >= 1000) {
    for (let tries = 0; tries < 50; tries++) {
      const port = STABLE_FLOOR + Math.floor(Math.random() * (low - STABLE_FLOOR));
      if (handedOut.has(port)) continue;
      if (await isPortFree(port, host)) {
        handedOut.add(port);
        return port;
      }
    }
  }
  return kernelPort(host);
}

// Above the well-known and registered ports most local services use.
const STABLE_FLOOR = 20000;
// Two callers in one process must not get one port, even before either binds it.
const handedOut = new Set<number>();

function ephemeralRange(): [number, number] {
  try {
    const [lo, hi] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(lo) && Number.isInteger(hi)) return [lo!, hi!];
  } catch {
    // not Linux: the IANA dynamic range, which macOS and Windows use
  }
  return [49152, 65535];
}

function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host }, () => {
      const addr = server.address();
      server.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export async function tcpReachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
