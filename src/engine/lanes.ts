/**
 * The main thread's end of the engine workers' lanes (the worker's end is
 * src/engine/lane.ts): one MessagePort per worker thread, opened once, that carries every
 * generate and score request to the thread and every message back, instead of a Piscina
 * task and a new transferred MessageChannel per request.
 *
 * Piscina still owns the threads. Each lane is a Piscina task (`lane`, the worker's named
 * export) that runs as long as its thread; `laneBalancer` puts each lane on a thread that
 * has none. When a thread dies, its lane task rejects: the requests on it are lost
 * (`LaneClient.lost`) and a new lane is opened at once; its first messages wait in the new
 * channel until Piscina's replacement thread takes the task.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { busyPoll } from '../core/busy-poll';
import type {
  CancelReason,
  LaneBatch,
  LaneCancel,
  LaneHello,
  LaneRequest,
  LaneTask,
  WorkerPortMessage,
} from './messages';

/** One request's receiver on the main thread. */
export interface LaneClient {
  /** One message of the request, in order; the last is a WorkerDone or a WorkerFailed. */
  message(msg: WorkerPortMessage): void;
  /** The worker thread died with the request on it (no final message will come). */
  lost(err: Error): void;
}

interface Lane {
  port: MessagePort;
  /** The worker thread serving it; -1 until its hello arrives. */
  threadId: number;
  clients: Map<number, LaneClient>;
  dead: boolean;
}

type Balancer = NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer'];

/**
 * Piscina's least-busy choice for control tasks (info, crash); a `lane` task goes only
 * to a thread that holds no lane yet (waits in Piscina's queue until one is ready), and
 * that thread is marked at once, so lanes opened together land on different threads.
 */
export function laneBalancer(holders: Set<number>, maximumUsage: number): Balancer {
  return (task, workers) => {
    if (task.name === 'lane') {
      const w = workers.find((x) => !holders.has(x.id));
      if (w) holders.add(w.id);
      return w ?? null;
    }
    let best = null;
    let least = maximumUsage;
    for (const w of workers) {
      if (w.currentUsage < least) {
        best = w;
        least = w.currentUsage;
      }
    }
    return best;
  };
}

export class Lanes {
  private readonly lanes: Lane[] = [];
  private nextId = 1;
  private closed = false;

  /**
   * `holders`: the threads that hold a lane: laneBalancer adds a thread as it places a
   * lane on it; a lane whose thread died takes it out.
   * `onThreadLost`: called once per lane whose thread died, with the lane's index.
   */
  constructor(
    private readonly piscina: Piscina,
    count: number,
    private readonly holders: Set<number>,
    private readonly onThreadLost: (lane: number) => void,
  ) {
    for (let i = 0; i < count; i++) this.lanes.push(this.open());
  }

  /** A fresh request id (unique across lanes). */
  newId(): number {
    return this.nextId++;
  }

  /** The index of the lane with the fewest requests in flight (the lowest among equals). */
  next(): number {
    let best = 0;
    for (let i = 1; i < this.lanes.length; i++)
      if (this.lanes[i]!.clients.size < this.lanes[best]!.clients.size) best = i;
    return best;
  }

  /** Requests in flight on each lane, by index. */
  loads(): number[] {
    return this.lanes.map((l) => l.clients.size);
  }

  /** Sends a request to lane `index` (by default the least busy); returns its cancel. */
  send(req: LaneRequest, client: LaneClient, index = this.next()): (reason: CancelReason) => void {
    const lane = this.lanes[index]!;
    lane.clients.set(req.id, client);
    lane.port.postMessage(req);
    return (reason) => {
      if (lane.dead || !lane.clients.has(req.id)) return;
      const msg: LaneCancel = { kind: 'cancel', id: req.id, reason };
      lane.port.postMessage(msg);
    };
  }

  /** Ends every lane (the lane tasks finish; threads are left to end with the process). */
  close(): void {
    this.closed = true;
    for (const l of this.lanes) {
      l.dead = true;
      l.port.close();
    }
  }

  private open(): Lane {
    const { port1, port2 } = new MessageChannel();
    const lane: Lane = { port: port1, threadId: -1, clients: new Map(), dead: false };
    port1.on('message', (batch: LaneBatch | LaneHello) => {
      busyPoll.touch();
      if (!Array.isArray(batch)) {
        // laneBalancer marked the thread when it placed the lane; this names it for lost().
        lane.threadId = batch.threadId;
        return;
      }
      for (let i = 0; i < batch.length; i += 2) {
        const id = batch[i] as number;
        const msg = batch[i + 1] as WorkerPortMessage;
        const c = lane.clients.get(id);
        if (!c) continue;
        if (typeof msg !== 'string' && (msg.type === 'done' || msg.type === 'error')) lane.clients.delete(id);
        c.message(msg);
      }
    });
    const task: LaneTask = { port: port2 };
    this.piscina.run(task, { name: 'lane', transferList: [port2] }).then(
      () => this.lost(lane, new Error('the worker closed its lane')),
      (err: unknown) => this.lost(lane, err instanceof Error ? err : new Error(String(err))),
    );
    return lane;
  }

  /** The lane's thread died (or the lane ended): its requests are lost; a new lane replaces it. */
  private lost(lane: Lane, err: Error): void {
    if (lane.dead || this.closed) return;
    lane.dead = true;
    lane.port.close();
    this.holders.delete(lane.threadId);
    const index = this.lanes.indexOf(lane);
    this.onThreadLost(index);
    this.lanes[index] = this.open();
    const clients = [...lane.clients.values()];
    lane.clients.clear();
    for (const c of clients) c.lost(err);
  }
}
