// The webhook sending every provider fake shares: deliveries one after another (as a provider's retries are),
// each sent twice when `duplicate`, held while `hold` until flush() (newest first when `outOfOrder`).
export class WebhookOutbox<T> {
  duplicate = false;
  hold = false;
  outOfOrder = false;
  readonly #deliver: (item: T) => Promise<void>;
  #held: T[] = [];
  #sending: Promise<void> = Promise.resolve();

  /** `deliver` POSTs one copy and records the answer; it must not throw. */
  constructor(deliver: (item: T) => Promise<void>) {
    this.#deliver = deliver;
  }

  /** Sends `item`, or holds it while `hold`. */
  emit(item: T): void {
    if (this.hold) this.#held.push(item);
    else this.send(item);
  }

  /** Sends `item` after what is being sent (twice when `duplicate`), held or not. */
  send(item: T): void {
    const copies = this.duplicate ? 2 : 1;
    this.#sending = this.#sending.then(async () => {
      for (let i = 0; i < copies; i++) await this.#deliver(item);
    });
  }

  /** Sends every held item (newest first when `outOfOrder`) and waits for all deliveries. */
  async flush(): Promise<void> {
    const batch = this.outOfOrder ? [...this.#held].reverse() : [...this.#held];
    this.#held = [];
    for (const item of batch) this.send(item);
    await this.sent();
  }

  /** Waits for the deliveries started so far. */
  async sent(): Promise<void> {
    await this.#sending;
  }
}

/** The `duplicateWebhooks` / `holdWebhooks` / `outOfOrder` switches of a fake, backed by its outbox. */
export abstract class FakeWithOutbox<T> {
  protected abstract readonly outbox: WebhookOutbox<T>;

  get duplicateWebhooks(): boolean {
    return this.outbox.duplicate;
  }
  set duplicateWebhooks(v: boolean) {
    this.outbox.duplicate = v;
  }
  get holdWebhooks(): boolean {
    return this.outbox.hold;
  }
  set holdWebhooks(v: boolean) {
    this.outbox.hold = v;
  }
  get outOfOrder(): boolean {
    return this.outbox.outOfOrder;
  }
  set outOfOrder(v: boolean) {
    this.outbox.outOfOrder = v;
  }

  /** Sends every held webhook (newest first when outOfOrder) and waits for all deliveries. */
  async flushWebhooks(): Promise<void> {
    await this.outbox.flush();
  }

  /** Waits for deliveries already started. */
  async webhooksSent(): Promise<void> {
    await this.outbox.sent();
  }
}

/** POSTs one webhook; the HTTP status of the answer, or 0 when none came (connection refused, reset). */
export async function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<number> {
  try {
    const res = await fetch(url, { method: 'POST', headers, body });
    await res.body?.cancel().catch(() => undefined);
    return res.status;
  } catch {
    return 0;
  }
}
