/**
 * The transport floor: a uWebSockets.js server that echoes every binary frame, and
 * nothing else. Whatever Colo adds on top of this (verify, route, encode) is its cost.
 *
 * Run alone (`npx tsx bench/e2e/uws-echo-server.ts`) it prints `PORT <n>` and serves
 * until stdin closes, which is how uws-echo.ts runs it in a child process.
 */
import uWS from 'uWebSockets.js';
import { loadTuning } from '../../src/tuning';
import { isMain } from '../lib/machine';

export interface EchoServer {
  port: number;
  url: string;
  /** Frames echoed so far. */
  readonly echoed: number;
  close(): void;
}

export function startUwsEchoServer(host = '127.0.0.1'): Promise<EchoServer> {
  const sockets = new Set<uWS.WebSocket<unknown>>();
  let echoed = 0;
  const app = uWS.App().ws('/*', {
    compression: uWS.DISABLED,
    maxPayloadLength: 1 << 20,
    idleTimeout: 0,
    open: (ws) => void sockets.add(ws),
    close: (ws) => void sockets.delete(ws),
    message: (ws, message, isBinary) => {
      echoed++;
      // uWS copies the ArrayBuffer before the handler returns, so echoing it as is is safe.
      ws.send(message, isBinary);
    },
  });
  return new Promise((done, reject) => {
    app.listen(host, 0, (token) => {
      if (!token) return reject(new Error('uWS echo server failed to listen'));
      const port = uWS.us_socket_local_port(token);
      done({
        port,
        url: `ws://${host}:${port}/`,
        get echoed() {
          return echoed;
        },
        close() {
          uWS.us_listen_socket_close(token);
          for (const ws of sockets) ws.close();
          sockets.clear();
        },
      });
    });
  });
}

if (isMain('uws-echo-server')) {
  // --pin=N pins the server thread to core N, --mlock locks its memory (tuning bench).
  const pin = process.argv.find((a) => a.startsWith('--pin='))?.slice(6);
  const notes: string[] = [];
  if (pin !== undefined || process.argv.includes('--mlock')) {
    const tuning = loadTuning();
    if (pin !== undefined)
      notes.push(`pin ${pin}: ${JSON.stringify(tuning.pinThreadToCores([Number(pin)]))}`);
    if (process.argv.includes('--mlock')) notes.push(`mlockall: ${JSON.stringify(tuning.lockMemory())}`);
  }
  const server = await startUwsEchoServer();
  process.stdout.write(`PORT ${server.port}${notes.length ? ` ${notes.join('; ')}` : ''}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    server.close();
    // V8 aborts when a worker thread (tsx's loader is one) is torn down while memory is
    // locked: madvise(MADV_DONTNEED) on locked pages fails. See native/README.md.
    if (process.argv.includes('--mlock')) loadTuning().unlockMemory();
    process.exit(0);
  });
}
