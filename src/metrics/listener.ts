/**
 * The separate scrape listener (`metrics.access: "listener"`): plain HTTP serving only
 * `GET /metrics`, on its own address (127.0.0.1:9464 by default), so the API port
 * never exposes metrics and the operator protects the scrape port at the network.
 */
import { createServer, type Server } from 'node:http';

export interface MetricsListener {
  port: number;
  close(): Promise<void>;
}

export function listenMetrics(host: string, port: number, render: () => string): Promise<MetricsListener> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(render());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({
        port: typeof addr === 'object' && addr ? addr.port : port,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}
