/**
 * The core's outbox (core/outbox.ts) against a plain model, with its turn counter wrapping every few drains:
 * random sends and status updates to four clients' boxes, clients that start over (`forget`), leave
 * (`remove`, a later send to the old box is dropped) and come back (`attach`), and drains. Each drain gives each
 * client exactly what was sent to it since the last one, in order, its status updates last, and nothing for
 * anyone else. A box remembers the turn it was last sent to as a number; when the counter wraps, a box sent to
 * long ago must not be taken for one sent to in the new turn (its messages would land in another box's list).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { propertyRuns } from '../support/property-runs';
import { Outbox, type OutboxBox } from '../../scheduler/core/outbox';
import type { SchedulerMessage } from '../../scheduler/protocol/messages';

type Op =
  | { kind: 'send' | 'status' | 'forget' | 'remove' | 'attach'; client: number; n: number }
  | { kind: 'drain' };

const IDS = ['a', 'b', 'c', 'd'];

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constantFrom('send' as const, 'status' as const, 'forget' as const, 'remove' as const, 'attach' as const), client: fc.integer({ min: 0, max: 3 }), n: fc.nat(1000) }),
  fc.constant({ kind: 'drain' as const }),
);

test('every drain gives each client what was sent to it since the last one, across wraps of the turn counter', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3 }), fc.array(op, { minLength: 50, maxLength: 200 }), (lastTurn, ops) => {
      const outbox = new Outbox(lastTurn);
      const boxes = new Map<string, OutboxBox>();
      const attached = new Set<string>();
      const model = new Map<string, { msgs: SchedulerMessage[]; keys: string[] }>();
      const pending = (id: string) => {
        let m = model.get(id);
        if (!m) model.set(id, (m = { msgs: [], keys: [] }));
        return m;
      };
      for (const id of IDS) {
        boxes.set(id, outbox.attach(id));
        attached.add(id);
      }
      for (const o of ops) {
        if (o.kind === 'drain') {
          const out = outbox.drain();
          const expected = new Map<string, SchedulerMessage[]>();
          for (const [id, m] of model) {
            const msgs: SchedulerMessage[] = [...m.msgs];
            if (m.keys.length > 0) msgs.push({ op: 'status', keys: m.keys, s: m.keys.map(() => 'finished' as const) });
            if (msgs.length > 0) expected.set(id, msgs);
          }
          assert.deepEqual(new Map([...out].map(([id, msgs]) => [id, [...msgs]])), expected);
          model.clear();
          continue;
        }
        const id = IDS[o.client];
        const box = boxes.get(id) as OutboxBox;
        if (o.kind === 'send') {
          outbox.sendTo(box, { op: 'chan-stop', channel: `c${o.n}` });
          if (attached.has(id)) pending(id).msgs.push({ op: 'chan-stop', channel: `c${o.n}` });
        } else if (o.kind === 'status') {
          outbox.sendStatus(box, `k${o.n}`, 'finished', undefined);
          if (attached.has(id)) pending(id).keys.push(`k${o.n}`);
        } else if (o.kind === 'forget') {
          outbox.forget(id);
          model.delete(id);
        } else if (o.kind === 'remove') {
          outbox.remove(id);
          attached.delete(id);
          model.delete(id);
        } else if (!attached.has(id)) {
          boxes.set(id, outbox.attach(id));
          attached.add(id);
        }
      }
    }),
    { numRuns: propertyRuns(500, 100) },
  );
});
