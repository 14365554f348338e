/**
 * The scheduler's transition log (Dask's `transition_log`): a fixed-size ring of the newest transitions,
 * kept in parallel arrays so that logging allocates nothing on the hot path. `story(key)` reads it.
 */
import type { StoryEntry } from '../protocol/messages';

export class StoryLog {
  private readonly keys: (string | undefined)[];
  private readonly events: (string | undefined)[];
  private readonly from: (string | undefined)[];
  private readonly to: (string | undefined)[];
  private readonly stimulusKinds: (string | undefined)[];
  private readonly stimulusSeqs: Float64Array;
  /** The worker concerned and why it was chosen (dispatches, placements, finished runs), or undefined. */
  private readonly workers: (string | undefined)[];
  private readonly whys: (string | undefined)[];
  private readonly times: Float64Array;
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.keys = new Array<string | undefined>(capacity);
    this.events = new Array<string | undefined>(capacity);
    this.from = new Array<string | undefined>(capacity);
    this.to = new Array<string | undefined>(capacity);
    this.stimulusKinds = new Array<string | undefined>(capacity);
    this.stimulusSeqs = new Float64Array(capacity);
    this.workers = new Array<string | undefined>(capacity);
    this.whys = new Array<string | undefined>(capacity);
    this.times = new Float64Array(capacity);
  }

  /** Logs one transition (or, with `from === to`, something dropped: a stale outcome) caused by `stimulus`. */
  add(key: string, event: string, from: string, to: string, time: number, stimulusKind = '', stimulusSeq = 0, worker?: string, why?: string): void {
    const i = this.next;
    this.keys[i] = key;
    this.events[i] = event;
    this.from[i] = from;
    this.to[i] = to;
    this.times[i] = time;
    this.stimulusKinds[i] = stimulusKind;
    this.stimulusSeqs[i] = stimulusSeq;
    this.workers[i] = worker;
    this.whys[i] = why;
    this.next = (i + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  /** The logged transitions of `key`, oldest first. */
  storyOf(key: string): StoryEntry[] {
    const out: StoryEntry[] = [];
    const start = (this.next - this.size + this.capacity) % this.capacity;
    for (let n = 0; n < this.size; n++) {
      const i = (start + n) % this.capacity;
      if (this.keys[i] !== key) continue;
      const entry: StoryEntry = { time: this.times[i], event: this.events[i] as string, from: this.from[i] as string, to: this.to[i] as string };
      if (this.stimulusKinds[i]) entry.stimulus = `${this.stimulusKinds[i]}#${this.stimulusSeqs[i]}`;
      const worker = this.workers[i];
      if (worker !== undefined) entry.worker = worker;
      const why = this.whys[i];
      if (why !== undefined) entry.why = why;
      out.push(entry);
    }
    return out;
  }
}
