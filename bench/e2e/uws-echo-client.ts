/**
 * A WebSocket client (the `ws` package) that can keep many requests in flight on one
 * connection: bytes 0..3 of every frame carry a request id, which an echo (or any
 * server that copies it into its reply) sends back, so replies match requests in any
 * order. Frames are allocated per send, as a real client building a request would.
 */
import WebSocket from 'ws';

export class EchoClient {
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  private nextId = 1;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const id = data.readUInt32LE(0);
      const waiter = this.pending.get(id);
      if (waiter) {
        this.pending.delete(id);
        waiter.resolve();
      }
    });
    ws.on('close', () => {
      const err = new Error('echo connection closed with requests in flight');
      for (const waiter of this.pending.values()) waiter.reject(err);
      this.pending.clear();
    });
  }

  static connect(url: string): Promise<EchoClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
      ws.binaryType = 'nodebuffer';
      ws.once('open', () => resolve(new EchoClient(ws)));
      ws.once('error', reject);
    });
  }

  /** Sends one `size`-byte binary frame and resolves when its echo arrives. */
  roundTrip(size: number): Promise<void> {
    const id = this.nextId++ >>> 0;
    const frame = Buffer.allocUnsafe(Math.max(4, size)).fill(0x61, 4);
    frame.writeUInt32LE(id, 0);
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(frame, { binary: true, compress: false });
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}
