/** A response body holding `chunks`, handed out one per read, as a paced network read would. */
export function inMemoryBody(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let next = 0;
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (next < chunks.length) controller.enqueue(chunks[next++]!);
        else controller.close();
      },
    },
    { highWaterMark: 0 },
  );
}
