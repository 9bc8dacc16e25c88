/** A web stream's chunks as an async iterable, on every runtime (not every type library declares ReadableStream iterable). */
export async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The whole stream, at most `limit` bytes: past that it is cancelled and `tooLarge()` is thrown. */
export async function readAll(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  tooLarge: () => Error,
): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunksOf(stream)) {
    size += chunk.length;
    if (size > limit) break; // leaving the loop releases the reader, so the stream can be cancelled
    chunks.push(chunk);
  }
  if (size > limit) {
    await stream.cancel().catch(() => {});
    throw tooLarge();
  }
  return Buffer.concat(chunks);
}
