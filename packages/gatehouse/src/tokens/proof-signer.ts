/**
 * Signs DPoP proofs on a thread of their own, in batches. An ES256 signature costs the event loop
 * 30 µs or more when signed in place, and still a third of that when node:crypto hands each one to
 * the thread pool; here the proofs asked for in one turn of the event loop cross to the signing
 * thread as one message and come back as one, so the event loop's share drops to a few µs each and
 * the signing itself runs on another core. One thread per process, idle unless proofs are pending
 * (it never keeps the process alive). Should the thread fail, proofs are signed on the thread pool
 * instead: slower, never wrong. (The thread runs the compiled proof-signer-worker.js; tests that run
 * the TypeScript sources get the thread pool, and one test checks the thread on the build.)
 */
import { sign, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { digestFor, type SignJob, type SignedBatch, type SignerAlg } from './proof-signature.js';

/** A key as the signer needs it. */
export interface SigningKey {
  /** Names the key across the thread boundary: its public x (or n). */
  readonly id: string;
  readonly alg: SignerAlg;
  /** The private JWK, for the signing thread (which keeps the keys it has parsed). */
  readonly jwk: object;
  /** The key and signature encoding for node:crypto, for the fallback. */
  readonly signer: SignKeyObjectInput | KeyObject;
}

interface Pending {
  key: SigningKey;
  input: string;
  resolve: (signature: string) => void;
  reject: (error: Error) => void;
}

class ProofSigner {
  #worker: Worker | undefined;
  #broken = false;
  #queue: Pending[] = [];
  readonly #inFlight = new Map<number, Pending[]>();
  #nextBatch = 0;

  /** Whether proofs go to the signing thread (false before the first proof, and after a failure). */
  get onThread(): boolean {
    return this.#worker !== undefined && !this.#broken;
  }

  /** The base64url signature of `input` by `key`. */
  sign(key: SigningKey, input: string): Promise<string> {
    if (this.#broken) return signOnThreadPool(key, input);
    return new Promise((resolve, reject) => {
      // After this turn's I/O callbacks, every proof they asked for goes in one message.
      if (this.#queue.length === 0) setImmediate(this.#flush);
      this.#queue.push({ key, input, resolve, reject });
    });
  }

  readonly #flush = () => {
    const batch = this.#queue;
    this.#queue = [];
    if (this.#broken) return this.#signHere(batch);
    const id = this.#nextBatch++;
    this.#inFlight.set(id, batch);
    const worker = this.#started();
    worker.ref(); // while proofs are pending
    const jobs: SignJob[] = batch.map(({ key, input }) => ({ key: key.id, alg: key.alg, jwk: key.jwk, input }));
    worker.postMessage({ id, jobs });
  };

  #started(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('./proof-signer-worker.js', import.meta.url));
    worker.on('message', ({ id, signatures }: SignedBatch) => {
      const batch = this.#inFlight.get(id) ?? [];
      this.#inFlight.delete(id);
      if (this.#inFlight.size === 0) worker.unref();
      batch.forEach((pending, i) => {
        const signature = signatures[i];
        if (signature) pending.resolve(signature);
        else signOnThreadPool(pending.key, pending.input).then(pending.resolve, pending.reject);
      });
    });
    worker.on('error', () => this.#fail());
    worker.on('exit', () => this.#fail());
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  /** The thread is gone: what it held, and everything after, is signed on the thread pool. */
  #fail(): void {
    this.#broken = true;
    this.#worker = undefined;
    const orphans = [...this.#inFlight.values()].flat();
    this.#inFlight.clear();
    this.#signHere(orphans);
  }

  #signHere(batch: Pending[]): void {
    for (const { key, input, resolve, reject } of batch) signOnThreadPool(key, input).then(resolve, reject);
  }
}

/** The process's signer. */
export const proofSigner = new ProofSigner();

/** node:crypto on the thread pool (a callback makes it asynchronous). */
function signOnThreadPool(key: SigningKey, input: string): Promise<string> {
  return new Promise((resolve, reject) =>
    sign(digestFor(key.alg), Buffer.from(input), key.signer, (error, signature) =>
      error ? reject(error) : resolve(signature.toString('base64url')),
    ),
  );
}
