/**
 * The signing thread of proof-signer.ts: signs each batch of DPoP proofs it is sent and answers with
 * their signatures in the same order (an empty string where one failed: the main thread signs that
 * one itself). Keys are parsed once and kept, the most recently used first.
 */
import { createPrivateKey, sign, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { digestFor, signerFor, type SignedBatch, type SignJob } from './proof-signature.js';

const MAX_KEYS = 20_000;
const keys = new Map<string, SignKeyObjectInput | KeyObject>();

function signerOf(job: SignJob): SignKeyObjectInput | KeyObject {
  let signer = keys.get(job.key);
  if (signer) {
    keys.delete(job.key);
  } else {
    signer = signerFor(job.alg, createPrivateKey({ key: job.jwk as never, format: 'jwk' }));
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value!);
  }
  keys.set(job.key, signer);
  return signer;
}

parentPort?.on('message', ({ id, jobs }: { id: number; jobs: SignJob[] }) => {
  const signatures = jobs.map((job) => {
    try {
      return sign(digestFor(job.alg), Buffer.from(job.input), signerOf(job)).toString('base64url');
    } catch {
      return '';
    }
  });
  parentPort!.postMessage({ id, signatures } satisfies SignedBatch);
});
