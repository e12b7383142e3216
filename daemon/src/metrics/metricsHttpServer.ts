// /metrics, /healthz (process alive) and /readyz (database open, socket serving, config loaded).
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface ReadinessProbe {
  /** Empty when ready; otherwise what is not. */
  notReady(): string[];
}

export function parseListenAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new Error(`--metrics-addr: "${text}" is not host:port (e.g. 127.0.0.1:9464)`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}

export async function startMetricsServer(address: string, registry: Registry, readiness: ReadinessProbe): Promise<Server> {
  const { host, port } = parseListenAddress(address);
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
    } else if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const problems = readiness.notReady();
      response.writeHead(problems.length === 0 ? 200 : 503, { 'content-type': 'text/plain' })
        .end(problems.length === 0 ? 'ready\n' : `not ready: ${problems.join('; ')}\n`);
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics, /healthz or /readyz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => { server.off('error', reject); resolve(); });
  });
  return server;
}
