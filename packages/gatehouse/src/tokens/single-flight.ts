/**
 * At most one run of `work` per key at a time in this process; callers that arrive while it runs
 * share its result instead of starting their own. (Across instances, a store lock adds the same
 * guarantee; see the Redis store.)
 */
export class SingleFlight<T> {
  readonly #inflight = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.#inflight.get(key);
    if (running) return running;
    const promise = work().finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, promise);
    return promise;
  }
}
