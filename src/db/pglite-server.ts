import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

/**
 * Serves one PGlite instance to many wire-protocol clients.
 *
 * Why not pglite-socket's own server: its multiplexer queues every protocol MESSAGE separately, so
 * outside explicit transactions the Parse/Bind/Execute/Sync of two clients interleave in PGlite's single
 * session ("bind message supplies 3 parameters, but prepared statement "" requires 1") — any parallel
 * parameterised queries (the `pg` driver, MikroORM) break. Here a client's messages are queued as one
 * unit up to a Sync / Query / Flush, units run one at a time, and while a client has a transaction open
 * only that client's units run (transactions are serialised; row locks never wait).
 */
const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const GSSENC_REQUEST = 80877104;

/** What a stalled session looks like when it is reported (see PGliteServerOptions.onStall). */
export interface SessionStall {
  /** How long the transaction's client has sent nothing while others waited. */
  idleMs: number;
  /** Other clients with a query queued behind it. */
  waitingClients: number;
}

export interface PGliteServerOptions {
  /**
   * Report a transaction whose client sends nothing while other clients wait, after this long (default
   * 30 s). On one session that is usually a caller that opened a transaction and then waits for a query on
   * another connection: it waits for ever, and so does everything behind it.
   */
  stallWarningMs?: number;
  /** Default: a warning on stderr. */
  onStall?: (stall: SessionStall) => void;
}

const DEFAULT_STALL_WARNING_MS = 30_000;

interface Unit {
  readonly client: Client;
  readonly bytes: Uint8Array;
}

class Client {
  buffer: Buffer = Buffer.alloc(0);
  pending: Buffer[] = [];
  started = false;
  closed = false;
  readonly socket: Socket;
  constructor(socket: Socket) {
    this.socket = socket;
  }
}

export class PGliteWireServer {
  readonly #db: PGlite;
  readonly #server: Server;
  readonly #queue: Unit[] = [];
  readonly #clients = new Set<Client>();
  #owner: Client | null = null;
  #running = false;
  readonly #stallMs: number;
  readonly #onStall: (stall: SessionStall) => void;
  #stallTimer: NodeJS.Timeout | null = null;
  /** When the session last ran a unit: the start of the owner's idle time. */
  #lastUnitAt = 0;

  constructor(db: PGlite, options: PGliteServerOptions = {}) {
    this.#db = db;
    this.#server = createServer((socket) => this.#accept(socket));
    this.#stallMs = options.stallWarningMs ?? DEFAULT_STALL_WARNING_MS;
    this.#onStall =
      options.onStall ??
      ((s) =>
        console.warn(
          `embedded database: a transaction has sent nothing for ${Math.round(s.idleMs / 1000)} s while ` +
            `${s.waitingClients} other connection(s) wait. PGlite is one session, so a query sent on another ` +
            'connection from inside a transaction waits for ever (src/db/embedded.ts).',
        ));
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    });
    const address = this.#server.address();
    if (!address || typeof address === 'string') throw new Error('PGlite server has no TCP address');
    return address.port;
  }

  async close(): Promise<void> {
    if (this.#stallTimer) clearTimeout(this.#stallTimer);
    for (const c of this.#clients) c.socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    const client = new Client(socket);
    this.#clients.add(client);
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.#onData(client, chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => void this.#drop(client));
  }

  #onData(client: Client, chunk: Buffer): void {
    client.buffer = client.buffer.length ? Buffer.concat([client.buffer, chunk]) : chunk;
    for (;;) {
      const buf = client.buffer;
      if (!client.started) {
        if (buf.length < 8) return;
        const length = buf.readInt32BE(0);
        if (buf.length < length) return;
        const code = buf.readInt32BE(4);
        client.buffer = buf.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          client.socket.write('N');
          continue;
        }
        if (code === CANCEL_REQUEST) {
          client.socket.end();
          return;
        }
        client.started = true;
        this.#enqueue({ client, bytes: new Uint8Array(buf.subarray(0, length)) });
        continue;
      }
      if (buf.length < 5) return;
      const length = 1 + buf.readInt32BE(1);
      if (buf.length < length) return;
      const type = String.fromCharCode(buf[0]!);
      const message = buf.subarray(0, length);
      client.buffer = buf.subarray(length);
      if (type === 'X') {
        client.socket.end();
        return;
      }
      client.pending.push(message);
      if (type === 'S' || type === 'Q' || type === 'H' || type === 'c' || type === 'f') {
        this.#enqueue({ client, bytes: new Uint8Array(Buffer.concat(client.pending)) });
        client.pending = [];
      }
    }
  }

  #enqueue(unit: Unit): void {
    this.#queue.push(unit);
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      for (;;) {
        const index = this.#owner ? this.#queue.findIndex((u) => u.client === this.#owner) : 0;
        if (this.#queue.length === 0) return;
        if (index < 0) {
          this.#watchStall();
          return;
        }
        const [unit] = this.#queue.splice(index, 1);
        if (!unit || unit.client.closed) continue;
        const { socket } = unit.client;
        try {
          await this.#db.runExclusive(() =>
            this.#db.execProtocolRawStream(unit.bytes, {
              onRawData: (data: Uint8Array) => {
                if (!socket.destroyed && data.length > 0) socket.write(data);
              },
            }),
          );
        } catch {
          socket.destroy();
        }
        this.#lastUnitAt = Date.now();
        this.#owner = this.#db.isInTransaction() ? unit.client : null;
        if (this.#owner?.closed) await this.#rollbackAbandoned();
      }
    } finally {
      this.#running = false;
    }
  }

  /** Others wait for the owner's transaction: report it once it has been idle for stallWarningMs. */
  #watchStall(): void {
    if (this.#stallTimer) return;
    const owner = this.#owner;
    const check = () => {
      this.#stallTimer = null;
      const waiting = new Set(this.#queue.map((u) => u.client)).size;
      if (this.#owner !== owner || this.#running || waiting === 0) return;
      const idleMs = Date.now() - this.#lastUnitAt;
      if (idleMs < this.#stallMs) {
        this.#stallTimer = setTimeout(check, this.#stallMs - idleMs).unref();
        return;
      }
      this.#onStall({ idleMs, waitingClients: waiting });
    };
    this.#stallTimer = setTimeout(check, this.#stallMs).unref();
  }

  async #drop(client: Client): Promise<void> {
    client.closed = true;
    this.#clients.delete(client);
    for (let i = this.#queue.length - 1; i >= 0; i--)
      if (this.#queue[i]!.client === client) this.#queue.splice(i, 1);
    if (this.#owner === client && !this.#running) {
      await this.#rollbackAbandoned();
      void this.#pump();
    }
  }

  /** A client disconnected inside its transaction: roll it back so the others can proceed. */
  async #rollbackAbandoned(): Promise<void> {
    this.#owner = null;
    if (this.#db.isInTransaction()) await this.#db.exec('ROLLBACK');
  }
}
