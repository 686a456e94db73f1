/**
 * The least HTTP/1.1 client there is, for the gateway-path bench's `proxy-floor-raw`
 * path only: does the bare forwarder's hop cost undici, or the hop itself? Keep-alive
 * `net` sockets, one request at a time each, a POST with a content-length body, the
 * answer read by content-length or chunked transfer-coding. No timeouts, redirects or
 * error recovery: a bench instrument, never a client for Colo (which keeps undici).
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  type: string;
  body: Buffer;
}

export class RawHttpPool {
  private readonly idle: Conn[] = [];
  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  request(path: string, body: Buffer): Promise<RawResponse> {
    const c = this.idle.pop() ?? new Conn(this.host, this.port, (x) => this.idle.push(x));
    return c.send(path, body, this.host);
  }

  close(): void {
    for (const c of this.idle.splice(0)) c.close();
  }
}

class Conn {
  private readonly sock: net.Socket;
  private buf: Buffer | null = null;
  private pending: ((r: RawResponse) => void) | null = null;
  private fail: ((e: Error) => void) | null = null;

  constructor(
    host: string,
    port: number,
    private readonly release: (c: Conn) => void,
  ) {
    this.sock = net.connect({ host, port, noDelay: true });
    this.sock.on('data', (d: Buffer) => this.onData(d));
    this.sock.on('error', (e) => this.fail?.(e));
  }

  send(path: string, body: Buffer, host: string): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
      this.pending = resolve;
      this.fail = reject;
      const head = `POST ${path} HTTP/1.1\r\nhost: ${host}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
      this.sock.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(d: Buffer): void {
    const buf = (this.buf = this.buf ? Buffer.concat([this.buf, d]) : d);
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = buf.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const type = /content-type: *([^\r]+)/i.exec(head)?.[1] ?? 'application/json';
    const length = /content-length: *(\d+)/i.exec(head);
    let body: Buffer;
    if (length) {
      const n = Number(length[1]);
      if (buf.length < end + 4 + n) return;
      body = buf.subarray(end + 4, end + 4 + n);
    } else {
      // chunked: wait for the last chunk, then join the chunks
      if (buf.indexOf('\r\n0\r\n\r\n', end) < 0) return;
      const parts: Buffer[] = [];
      for (let i = end + 4; ;) {
        const eol = buf.indexOf('\r\n', i);
        const n = parseInt(buf.toString('latin1', i, eol), 16);
        if (n === 0) break;
        parts.push(buf.subarray(eol + 2, eol + 2 + n));
        i = eol + 2 + n + 2;
      }
      body = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    }
    this.buf = null;
    const done = this.pending!;
    this.pending = this.fail = null;
    this.release(this);
    done({ status, type, body });
  }
}
