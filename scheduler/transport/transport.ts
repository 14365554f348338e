/** The one interface every transport implements: ordered, reliable delivery of message batches. */

export interface Transport<In, Out> {
  /** Queues a message; queued messages leave together at the end of the current tick, in order. */
  send(message: Out): void;
  /**
   * Puts `messages` on the medium now, as one batch, after anything `send` queued: for a sender that
   * batches its own messages (the client's outbox), so that they are not queued a second time.
   */
  sendBatch(messages: Out[]): void;
  /** Registers the receiver of incoming batches (called in order, one batch at a time). */
  onMessages(handler: (messages: In[]) => void): void;
  /** Called once when the other side goes away or `close()` is called. */
  onClose(handler: (reason?: Error) => void): void;
  /** Closes both directions; pending sends are flushed first where the medium allows. */
  close(): void;
  /** Whether the process may exit while this transport is idle. */
  setKeepAlive?(alive: boolean): void;
}
