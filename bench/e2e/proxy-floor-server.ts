/**
 * The proxy floor for the gateway path: the least a Node gateway on Colo's stack does.
 * A uWebSockets.js HTTP server (Colo's server library) that forwards each POST body
 * unchanged to the upstream through an undici keep-alive Pool (Colo's HTTP client) and
 * relays the answer: status, content type, and the body (buffered for JSON, piped chunk
 * by chunk for SSE). No parsing, validation, routing, audit or metrics. Whatever Colo adds
 * on top of this is its own logic; what this adds over calling the upstream directly is
 * the extra process and its two loopback hops.
 *
 * With `busyPollMs` it also keeps its event loop turning for that long after each request,
 * as Colo's network thread does by default: the floor for a polling gateway.
 *
 *   node <bundle> --upstream http://127.0.0.1:PORT   → prints `PORT <n>`, serves until stdin closes
 */
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import uWS from 'uWebSockets.js';
import { isMain } from '../lib/machine';
import { BusyPoll } from '../../src/core/busy-poll';
import { RawHttpPool } from './raw-http-pool';

export function startProxyFloor(
  upstream: string,
  connections = 64,
  /** Busy polling as Colo's network thread does it (src/core/busy-poll.ts); 0: off. */
  busyPollMs = 0,
  /** Forward through RawHttpPool (raw-http-pool.ts) instead of undici: the `proxy-floor-raw` path. */
  raw = false,
): Promise<{ port: number; close(): void }> {
  const pool = new Pool(upstream, { connections, pipelining: 1 });
  const u = new URL(upstream);
  const rawPool = new RawHttpPool(u.hostname, Number(u.port));
  const poll = new BusyPoll();
  poll.configure(busyPollMs);
  const app = uWS.App().post('/*', (res, req) => {
    poll.touch();
    const path = req.getUrl();
    let aborted = false;
    res.onAborted(() => (aborted = true));
    const chunks: Buffer[] = [];
    res.onData((ab, last) => {
      chunks.push(Buffer.from(ab.slice(0)));
      if (!last) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      if (raw) {
        rawPool.request(path, body).then(
          (r) => {
            if (!aborted)
              res.cork(() =>
                res
                  .writeStatus(r.status === 200 ? '200 OK' : `${r.status} Status`)
                  .writeHeader('content-type', r.type)
                  .end(r.body),
              );
          },
          () => {
            if (!aborted) res.cork(() => res.writeStatus('502 Bad Gateway').end());
          },
        );
        return;
      }
      pool
        .request({ method: 'POST', path, headers: { 'content-type': 'application/json' }, body })
        .then(async (up) => {
          const type = String(up.headers['content-type'] ?? 'application/json');
          const status = `${up.statusCode} ${up.statusCode === 200 ? 'OK' : 'Status'}`;
          if (!type.startsWith('text/event-stream')) {
            const text = await up.body.text();
            if (!aborted) res.cork(() => res.writeStatus(status).writeHeader('content-type', type).end(text));
            return;
          }
          let started = false;
          for await (const chunk of up.body) {
            if (aborted) continue;
            res.cork(() => {
              if (!started) res.writeStatus(status).writeHeader('content-type', type);
              started = true;
              res.write(chunk as Buffer);
            });
          }
          if (!aborted)
            res.cork(() => {
              if (!started) res.writeStatus(status).writeHeader('content-type', type);
              res.end();
            });
        })
        .catch(() => {
          if (!aborted) res.cork(() => res.writeStatus('502 Bad Gateway').end());
        });
    });
  });
  return new Promise((done, reject) => {
    app.listen('127.0.0.1', 0, (token) => {
      if (!token) return reject(new Error('proxy floor failed to listen'));
      done({
        port: uWS.us_socket_local_port(token),
        close: () => {
          uWS.us_listen_socket_close(token);
          void pool.close();
          rawPool.close();
        },
      });
    });
  });
}

if (isMain('proxy-floor-server')) {
  const { values } = parseArgs({ options: { upstream: { type: 'string' } } });
  if (!values.upstream) throw new Error('--upstream URL is required');
  const s = await startProxyFloor(values.upstream);
  process.stdout.write(`PORT ${s.port}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    s.close();
    process.exit(0);
  });
}
