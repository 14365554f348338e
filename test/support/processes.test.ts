/**
 * The tests' spawner (processes.ts): what a benchmark's layout relies on. A process spawned with
 * `nice` runs at that priority, in its process and in its session's autogroup (which Linux weighs first).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { spawnProc } from './processes';

test('a process spawned with nice leads its own session at that nice value, and its autogroup too where the kernel has them', async () => {
  const p = spawnProc('sleep', ['30'], { nice: 7 });
  try {
    const pid = p.proc.pid as number;
    assert.equal(os.getPriority(pid), 7);
    // Field 6 of /proc/PID/stat is the session id: a session leader's is its own pid.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    assert.equal(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]), pid);
    const autogroup = `/proc/${pid}/autogroup`;
    if (fs.existsSync(autogroup)) assert.match(fs.readFileSync(autogroup, 'utf8'), /nice 7$/m);
    const other = spawnProc('sleep', ['30']);
    try {
      assert.equal(os.getPriority(other.proc.pid as number), os.getPriority(), "without nice, this process's priority");
    } finally {
      await other.stop();
    }
  } finally {
    await p.stop();
  }
});
