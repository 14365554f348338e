/**
 * `client.events()`: batched scheduler events for observers. The scheduler sends events only while this
 * client has at least one iteration open (`{ op: 'events', on }`).
 */
import type { SchedulerEvent } from '../protocol/messages';
import type { Connection } from './connection';

export class EventFeed {
  private readonly sinks = new Set<(events: SchedulerEvent[]) => void>();

  constructor(private readonly conn: Connection) {}

  /** A batch of events arrived. */
  deliver(events: SchedulerEvent[]): void {
    for (const sink of this.sinks) sink(events);
  }

  /** The client closed: every iteration ends (after what it already received). */
  end(): void {
    for (const sink of this.sinks) sink([]);
    this.sinks.clear();
  }

  iterable(): AsyncIterable<SchedulerEvent[]> {
    return { [Symbol.asyncIterator]: () => this.iterator() };
  }

  private iterator(): AsyncIterator<SchedulerEvent[]> {
    const queue: SchedulerEvent[][] = [];
    let wake: (() => void) | undefined;
    let done = false;
    const sink = (events: SchedulerEvent[]) => {
      queue.push(events);
      wake?.();
    };
    const stop = () => {
      if (done) return;
      done = true;
      this.sinks.delete(sink);
      if (this.sinks.size === 0 && !this.conn.closed) this.conn.post({ op: 'events', on: false });
      wake?.();
    };
    this.sinks.add(sink);
    if (this.sinks.size === 1) this.conn.post({ op: 'events', on: true });
    return {
      next: async (): Promise<IteratorResult<SchedulerEvent[]>> => {
        while (queue.length === 0 && !done && !this.conn.closed) {
          const letGo = this.conn.hold();
          await new Promise<void>((r) => (wake = r));
          letGo();
        }
        wake = undefined;
        if (queue.length > 0) return { value: queue.shift() as SchedulerEvent[], done: false };
        stop();
        return { value: undefined, done: true };
      },
      return: async (): Promise<IteratorResult<SchedulerEvent[]>> => {
        stop();
        return { value: undefined, done: true };
      },
    };
  }
}
