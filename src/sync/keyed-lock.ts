/**
 * Runs async tasks one at a time per key (a dataset): a full upload reads what it
 * replaces, compresses it off the main thread and then writes, and no other write
 * to the same dataset may slip in between.
 */
export class KeyedLock<K> {
  private readonly tails = new Map<K, Promise<unknown>>();

  run<T>(key: K, task: () => Promise<T> | T): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/**
 * At most `limit` holders per key (an account) at once; the others wait in turn.
 * `take` gives the function that frees the slot; calling it again does nothing.
 */
export class KeyedSlots<K> {
  private readonly keys = new Map<K, { held: number; waiting: (() => void)[] }>();

  constructor(private readonly limit: number) {}

  async take(key: K): Promise<() => void> {
    let slots = this.keys.get(key);
    if (!slots) this.keys.set(key, (slots = { held: 0, waiting: [] }));
    const entry = slots;
    // A freed slot passes straight to the first waiter, so `held` counts it throughout.
    if (entry.held < this.limit) entry.held++;
    else await new Promise<void>((resolve) => entry.waiting.push(resolve));
    let freed = false;
    return () => {
      if (freed) return;
      freed = true;
      const next = entry.waiting.shift();
      if (next) next();
      else if (--entry.held === 0) this.keys.delete(key);
    };
  }
}
