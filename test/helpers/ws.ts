/** A FlatBuffers WebSocket client for tests: the `ws` package plus src/protocol's client side. */
import WebSocket from 'ws';
import { decodeServerFrame, type ServerMessage } from '../../src/protocol';

export class WsClient {
  readonly messages: ServerMessage[] = [];
  private waiters: { pred: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];
  closed = false;
  closeCode = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) throw new Error('server sent a text frame');
      const msg = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      this.messages.push(msg);
      this.waiters = this.waiters.filter((w) => (w.pred(msg) ? (w.resolve(msg), false) : true));
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
    });
  }

  static connect(port: number, headers: Record<string, string> = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`, { headers });
      ws.once('open', () => resolve(new WsClient(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  /** Resolves with the first message (already received or future) matching pred. */
  next(pred: (m: ServerMessage) => boolean, timeoutMs = 20_000): Promise<ServerMessage> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for a server frame')), timeoutMs);
      this.waiters.push({ pred, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  /** The final frame (result or error) for a request id. */
  final(id: string): Promise<ServerMessage> {
    return this.next(
      (m) => (m.kind === 'result' && m.result.id === id) || (m.kind === 'error' && m.id === id),
    );
  }

  tokens(id: string): string[] {
    return this.messages.flatMap((m) => (m.kind === 'token' && m.id === id ? [m.text] : []));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
