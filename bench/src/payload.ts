// The job every system receives: ~100 bytes of JSON, unique per index so idempotency keys
// never collapse two jobs into one.

export interface Payload {
  i: number;
  user: string;
  action: string;
  doc: string;
  lang: string;
  at: number;
}

export function makePayload(i: number): Payload {
  return { i, user: `user-${String(i % 9973).padStart(5, '0')}`, action: 'summarize', doc: `doc-${i.toString(36).padStart(8, '0')}`, lang: 'en', at: 1_700_000_000_000 + i };
}

export function makePayloads(from: number, count: number): Payload[] {
  return Array.from({ length: count }, (_, k) => makePayload(from + k));
}

export const PAYLOAD_BYTES = Buffer.byteLength(JSON.stringify(makePayload(12_345)));

/** Checkpoint data of the same size class as the payload. */
export function checkpointData(step: number): { step: number; note: string; items: number[] } {
  return { step, note: `processed chunk ${step} of 10 for doc-0000abcd`, items: [step, step * 2, step * 3, step * 4] };
}
