/**
 * The scheduler's transition log (Dask's `transition_log`): a fixed-size ring of the newest transitions,
 * kept in parallel arrays so that logging allocates nothing on the hot path. `story(key)` reads it.
 */
import type { StoryEntry } from '../protocol/messages';

/** Where something happened, and why there. */
export interface StoryWhere {
  readonly worker?: string;
  readonly why?: string;
}

export class StoryLog {
  private readonly keys: (string | undefined)[];
  private readonly events: (string | undefined)[];
  private readonly from: (string | undefined)[];
  private readonly to: (string | undefined)[];
  private readonly stimulusKinds: (string | undefined)[];
  /** The client whose message the stimulus was, if it was one (its kind reads `<client>:<op>`). */
  private readonly stimulusClients: (string | undefined)[];
  private readonly stimulusSeqs: Float64Array;
  /**
   * The worker concerned and why it was chosen (dispatches, placements, finished runs), or undefined: one
   * reference (often the transition's own arguments, made once per worker), so logging stays one store.
   */
  private readonly wheres: (StoryWhere | undefined)[];
  private readonly times: Float64Array;
  private next = 0;
  private size = 0;

  constructor(readonly capacity: number) {
    this.keys = new Array<string | undefined>(capacity);
    this.events = new Array<string | undefined>(capacity);
    this.from = new Array<string | undefined>(capacity);
    this.to = new Array<string | undefined>(capacity);
    this.stimulusKinds = new Array<string | undefined>(capacity);
    this.stimulusClients = new Array<string | undefined>(capacity);
    this.stimulusSeqs = new Float64Array(capacity);
    this.wheres = new Array<StoryWhere | undefined>(capacity);
    this.times = new Float64Array(capacity);
  }

  /** Logs one transition (or, with `from === to`, something dropped: a stale outcome) caused by `stimulus`. */
  add(key: string, event: string, from: string, to: string, time: number, stimulusKind = '', stimulusSeq = 0, where?: StoryWhere, stimulusClient?: string): void {
    const i = this.next;
    this.keys[i] = key;
    this.events[i] = event;
    this.from[i] = from;
    this.to[i] = to;
    this.times[i] = time;
    this.stimulusKinds[i] = stimulusKind;
    this.stimulusClients[i] = stimulusClient;
    this.stimulusSeqs[i] = stimulusSeq;
    this.wheres[i] = where;
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
      const client = this.stimulusClients[i];
      if (this.stimulusKinds[i]) entry.stimulus = `${client === undefined ? '' : `${client}:`}${this.stimulusKinds[i]}#${this.stimulusSeqs[i]}`;
      const where = this.wheres[i];
      if (where?.worker !== undefined) entry.worker = where.worker;
      if (where?.why !== undefined) entry.why = where.why;
      out.push(entry);
    }
    return out;
  }
}
