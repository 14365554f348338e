/**
 * A gate a task waits at until the test opens it: a file that does not exist yet. Tasks run on other threads
 * or in other processes and take no closures, so the waiting is written in the task, with the path as an
 * argument:
 *
 *   const fsm = require('node:fs');
 *   while (!fsm.existsSync(gatePath)) await sleep(5);
 *
 * It makes "still running when X happens" certain instead of hoped for with a long enough sleep.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Gate {
  /** The file the task waits for. */
  path: string;
  /** Lets the waiting tasks go on. */
  open(): void;
}

export function fileGate(): Gate {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sf-gate-')), 'open');
  return { path: file, open: () => fs.writeFileSync(file, 'open') };
}
