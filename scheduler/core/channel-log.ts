/** The scheduler's copy of one channel: the retained window, the total count and who listens. */
import { Ring } from '../util/ring';
import type { ClientState } from './clients';

export class ChannelLog {
  /** Retained items, oldest first: a TaskRecord for a future, the value itself otherwise. */
  readonly items = new Ring<unknown>();
  /** Appends ever accepted, evicted ones included; the index of the next append. */
  count = 0;
  /** How many of the retained items are futures (TaskRecords). */
  futures = 0;
  stopped = false;
  /** Clients subscribed now, by id (their state at hand: a delivery to thousands looks none of them up). */
  readonly subscribers = new Map<string, ClientState>();

  constructor(
    readonly name: string,
    /** This incarnation of the name: a channel deleted and made again has another. */
    readonly epoch: number,
    /** Fixed by the first subscriber; null when unbounded. */
    readonly maxlen: number | null,
  ) {}
}
