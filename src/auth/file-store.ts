/**
 * The embedded auth store: everything in memory, persisted to one JSON file on each
 * change by write-temp + fsync + rename, so a crash leaves either the old or the new
 * file, never a torn one. Reads never touch the disk.
 */
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ColoError } from '../core/errors';
import {
  matchesFilter,
  subscriptionKey,
  type ApiKeyRecord,
  type AuthStore,
  type Subscription,
  type SubscriptionFilter,
  type SubscriptionTarget,
  type Tenant,
} from './types';

interface FileShape {
  version: 1;
  tenants: Tenant[];
  keys: ApiKeyRecord[];
  subscriptions: Subscription[];
}

export class MemoryAuthStore implements AuthStore {
  protected readonly tenants = new Map<string, Tenant>();
  protected readonly keys = new Map<string, ApiKeyRecord>();
  protected readonly subs = new Map<string, Subscription>();
  /** (keyId|kind|name) → subscription id. */
  protected readonly subIndex = new Map<string, string>();

  async getTenant(id: string): Promise<Tenant | undefined> {
    return this.tenants.get(id);
  }
  async putTenant(t: Tenant): Promise<void> {
    this.tenants.set(t.id, { ...t });
    await this.changed();
  }
  async listTenants(): Promise<Tenant[]> {
    return [...this.tenants.values()];
  }
  async getKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    return this.keys.get(keyId);
  }
  async putKey(k: ApiKeyRecord): Promise<void> {
    this.keys.set(k.keyId, { ...k });
    await this.changed();
  }
  async listKeys(tenant?: string): Promise<ApiKeyRecord[]> {
    return [...this.keys.values()].filter((k) => tenant === undefined || k.tenant === tenant);
  }
  async getSubscription(id: string): Promise<Subscription | undefined> {
    return this.subs.get(id);
  }
  async findSubscription(keyId: string, target: SubscriptionTarget): Promise<Subscription | undefined> {
    const id = this.subIndex.get(subscriptionKey(keyId, target));
    return id === undefined ? undefined : this.subs.get(id);
  }
  async putSubscription(s: Subscription): Promise<void> {
    this.subs.set(s.id, { ...s, target: { ...s.target } });
    this.subIndex.set(subscriptionKey(s.keyId, s.target), s.id);
    await this.changed();
  }
  async listSubscriptions(filter?: SubscriptionFilter): Promise<Subscription[]> {
    return [...this.subs.values()].filter((s) => matchesFilter(s, filter));
  }
  async close(): Promise<void> {}

  /** Hook for persistence; the pure in-memory store has nothing to do. */
  protected async changed(): Promise<void> {}

  protected load(data: FileShape): void {
    for (const t of data.tenants) this.tenants.set(t.id, t);
    for (const k of data.keys) this.keys.set(k.keyId, k);
    for (const s of data.subscriptions) {
      this.subs.set(s.id, s);
      this.subIndex.set(subscriptionKey(s.keyId, s.target), s.id);
    }
  }

  protected snapshot(): FileShape {
    return {
      version: 1,
      tenants: [...this.tenants.values()],
      keys: [...this.keys.values()],
      subscriptions: [...this.subs.values()],
    };
  }
}

export class FileAuthStore extends MemoryAuthStore {
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private closed = false;

  private constructor(private readonly path: string) {
    super();
  }

  /** Opens (or starts empty when the file does not exist) the store at `path`. */
  static async open(path: string): Promise<FileAuthStore> {
    const store = new FileAuthStore(path);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      let data: FileShape;
      try {
        data = JSON.parse(text) as FileShape;
      } catch (err) {
        throw new ColoError('INTERNAL', `auth store ${path} is not valid JSON`, { cause: err });
      }
      if (data.version !== 1)
        throw new ColoError('INTERNAL', `auth store ${path}: unknown version ${String(data.version)}`);
      store.load(data);
    }
    return store;
  }

  /**
   * Coalesces bursts of changes: at most one write in flight plus one queued, and
   * every caller resolves only after a write that includes its change is on disk.
   */
  protected override changed(): Promise<void> {
    if (this.closed) return Promise.reject(new ColoError('SHUTTING_DOWN', 'auth store is closed'));
    this.dirty = true;
    // A failed write must not wedge the chain: the next change retries with a full snapshot.
    this.writing = this.writing.catch(() => undefined).then(() => (this.dirty ? this.persist() : undefined));
    return this.writing;
  }

  private async persist(): Promise<void> {
    this.dirty = false;
    const body = JSON.stringify(this.snapshot(), null, 2) + '\n';
    const tmp = `${this.path}.${process.pid}.tmp`;
    await mkdir(dirname(this.path), { recursive: true });
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(body, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.path);
    // fsync the directory so the rename itself survives a power loss.
    const dir = await open(dirname(this.path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  override async close(): Promise<void> {
    this.closed = true;
    await this.writing.catch(() => undefined);
  }
}
