/** Limits of one WebSocket connection; every one is enforced in ws-transport.ts or ws-server.ts. */
export interface WireLimits {
  /** Largest frame accepted from a peer (bytes), before reassembly of chunks. */
  maxFrameBytes: number;
  /** Largest batch reassembled from chunks (bytes). */
  maxBatchBytes: number;
  /** Messages per second a connection may send (averaged over a one-second window, with burst). */
  maxMessagesPerSecond: number;
  /** Bytes queued towards a peer that does not read; past this it is cut off as a slow consumer. */
  maxOutstandingBytes: number;
  /** Milliseconds a new connection has to send its hello. */
  handshakeTimeoutMs: number;
}

export const DEFAULT_LIMITS: WireLimits = {
  maxFrameBytes: 16 * 2 ** 20,
  maxBatchBytes: 512 * 2 ** 20,
  maxMessagesPerSecond: 2_000_000,
  maxOutstandingBytes: 64 * 2 ** 20,
  handshakeTimeoutMs: 10_000,
};

/** Frames larger than this leave in chunks, yielding to the event loop between them. */
export const CHUNK_BYTES = 1 * 2 ** 20;

/** A token bucket: `take(n)` is false once the rate is exceeded. */
export class RateLimiter {
  private tokens: number;
  private last = Date.now();
  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }
  take(n: number): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}
