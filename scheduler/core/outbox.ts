/**
 * Messages the core produces, per client, until the server takes them (`drain`) after a stimulus. Status
 * updates are gathered per client into one `status` message that goes after the others; observers (the
 * sidebar, the dashboard) receive scheduler events, with one entry per channel however often it changed.
 */
import type { ErrorInfo } from '../protocol/errors';
import type { FutureStatus, SchedulerEvent, SchedulerMessage } from '../protocol/messages';
import type { ClientState } from './clients';

export class Outbox {
  private boxes = new Map<string, SchedulerMessage[]>();
  private statusBuf = new Map<string, { keys: string[]; s: FutureStatus[]; e: (ErrorInfo | null)[] | undefined }>();
  private events: SchedulerEvent[] = [];
  private channelEvents = new Map<string, SchedulerEvent>();
  /** Clients that asked for events; nothing is recorded for observers while there are none. */
  observers = 0;

  send(clientId: string, msg: SchedulerMessage): void {
    let box = this.boxes.get(clientId);
    if (!box) this.boxes.set(clientId, (box = []));
    box.push(msg);
  }

  sendStatus(clientId: string, key: string, s: FutureStatus, e: ErrorInfo | undefined): void {
    let buf = this.statusBuf.get(clientId);
    if (!buf) this.statusBuf.set(clientId, (buf = { keys: [], s: [], e: undefined }));
    if (e && !buf.e) buf.e = buf.keys.map(() => null);
    buf.keys.push(key);
    buf.s.push(s);
    if (buf.e) buf.e.push(e ?? null);
  }

  event(e: SchedulerEvent): void {
    if (this.observers > 0) this.events.push(e);
  }

  /** The latest state of a channel for observers (replaces an earlier one of the same tick). */
  channelEvent(name: string, e: SchedulerEvent): void {
    if (this.observers > 0) this.channelEvents.set(name, e);
  }

  /** Drops what was queued for a client that left or starts over. */
  forget(clientId: string): void {
    this.boxes.delete(clientId);
    this.statusBuf.delete(clientId);
  }

  /** Takes every message produced since the last call, per client; status updates go last. */
  drain(clients: ReadonlyMap<string, ClientState>): Map<string, SchedulerMessage[]> {
    for (const [cid, buf] of this.statusBuf) {
      if (!clients.has(cid)) continue;
      this.send(cid, buf.e ? { op: 'status', keys: buf.keys, s: buf.s, e: buf.e } : { op: 'status', keys: buf.keys, s: buf.s });
    }
    this.statusBuf.clear();
    if (this.observers > 0 && (this.events.length > 0 || this.channelEvents.size > 0)) {
      const events = [...this.events, ...this.channelEvents.values()];
      for (const c of clients.values()) if (c.observer) this.send(c.id, { op: 'events', events });
    }
    this.events = [];
    this.channelEvents.clear();
    const out = this.boxes;
    this.boxes = new Map();
    return out;
  }
}
