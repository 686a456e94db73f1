/**
 * Stage probe for bench/e2e/gateway-path.ts --stages, preloaded into the Colo process
 * (`node --import <this file> dist/cli.js serve ...`). It changes nothing in Colo; it
 * listens where Colo and undici already publish and keeps a flat log of timestamps
 * (performance.now() ms, the clock of Colo's receivedAt):
 *   0 receipt (the request's receivedAt, logged when the request is done)
 *   1 undici request created (the provider called pool.request)
 *   2 request headers + body written to the upstream socket (undici:client:sendHeaders)
 *   3 upstream response headers (undici:request:headers)
 *   4 upstream response complete (undici:request:trailers)
 *   5 the router's colo:request:done (result built)
 *   6 / 7 an audit write(2) starts / returns (fs.writeSync on a file fd, patched)
 * plus GC pauses (start, duration) and, per upstream request (paired by undici's request
 * object, so exact at any concurrency), its created / sent / headers / done times. SIGUSR2 writes the log to $COLO_PROBE_OUT as JSON
 * and starts a new one, so a bench can cut it per run.
 *
 * Subscribing makes undici and Colo publish, which costs a little: runs with the probe
 * are for the stage breakdown, never for the before/after figures.
 */
import dc from 'node:diagnostics_channel';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { performance, PerformanceObserver } from 'node:perf_hooks';

const out = process.env.COLO_PROBE_OUT;
let log = [];
let gc = [];
/** Per upstream request (paired by undici's request object, so exact at any concurrency): created, sent, headers, done. */
let upstream = [];
const open = new WeakMap();
const now = () => performance.now();

dc.subscribe('undici:request:create', ({ request }) => {
  const t = now();
  log.push(1, t);
  open.set(request, [t, 0, 0]);
});
dc.subscribe('undici:client:sendHeaders', ({ request }) => {
  const t = now();
  log.push(2, t);
  const o = open.get(request);
  if (o) o[1] = t;
});
dc.subscribe('undici:request:headers', ({ request }) => {
  const t = now();
  log.push(3, t);
  const o = open.get(request);
  if (o) o[2] = t;
});
dc.subscribe('undici:request:trailers', ({ request }) => {
  const t = now();
  log.push(4, t);
  const o = open.get(request);
  if (o && o[1] && o[2]) upstream.push(o[0], o[1], o[2], t);
  open.delete(request);
});
dc.subscribe('colo:request:done', (e) => {
  const t = now();
  log.push(0, e.receivedAt, 5, t);
});

const writeSync = fs.writeSync;
fs.writeSync = function probedWriteSync(fd, ...rest) {
  if (typeof fd !== 'number' || fd <= 2) return writeSync.call(this, fd, ...rest);
  log.push(6, now());
  const r = writeSync.call(this, fd, ...rest);
  log.push(7, now());
  return r;
};
syncBuiltinESMExports();

new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gc.push(e.startTime, e.duration);
}).observe({ entryTypes: ['gc'] });

process.on('SIGUSR2', () => {
  if (!out) return;
  fs.writeFileSync(out, JSON.stringify({ log, gc, upstream }));
  log = [];
  gc = [];
  upstream = [];
});
