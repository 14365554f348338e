/**
 * Running cells in the kernel thread: each transpiled cell runs with `vm.runInThisContext`, so its top-level
 * names become globals of the thread and survive until the thread is replaced (restart). Which execution a
 * piece of output belongs to is tracked across callbacks with AsyncLocalStorage.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as vm from 'node:vm';
import type { CellSourceMaps } from '../stack';
import { describeError } from './errors';
import type { PostToKernel, ToKernelThread } from './messages';

const INTERRUPTED = Symbol('interrupted');

/** Runs cells one after the other and knows which execution the code running now belongs to. */
export class CellExecutions {
  private readonly context = new AsyncLocalStorage<number>();
  private lastExec = 0;
  private running: { exec: number; interrupt: () => void } | undefined;

  constructor(
    private readonly post: PostToKernel,
    private readonly sourceMaps: CellSourceMaps,
  ) {}

  /** The execution of the code running now: the cell whose callback this is, else the running or last cell. */
  currentExec(): number {
    return this.context.getStore() ?? this.running?.exec ?? this.lastExec;
  }

  /**
   * Runs a cell and sends `done`; `showResult` shows the value of its final expression. An interrupt ends the
   * wait for a cell that awaits something; the cell goes on in the background and the thread's state is kept.
   */
  async execute(message: Extract<ToKernelThread, { t: 'execute' }>, showResult: (value: unknown, exec: number) => void): Promise<void> {
    const { exec } = message;
    this.lastExec = exec;
    this.sourceMaps.register(message.fileName, message.label, message.sourceMap, message.code);
    let interrupt: () => void = () => undefined;
    const interrupted = new Promise<typeof INTERRUPTED>((resolve) => {
      interrupt = () => resolve(INTERRUPTED);
    });
    this.running = { exec, interrupt };
    let status: 'ok' | 'error' | 'interrupted' = 'ok';
    try {
      const completion = this.context.run(exec, () => vm.runInThisContext(message.code, { filename: message.fileName }) as unknown);
      const cell = Promise.resolve(completion);
      // An interrupted cell goes on in the background; its failure must not crash the thread.
      cell.catch(() => undefined);
      const outcome = await Promise.race([cell, interrupted]);
      if (outcome === INTERRUPTED) {
        status = 'interrupted';
        this.post({
          t: 'error',
          exec,
          ename: 'Interrupted',
          evalue: 'the cell was interrupted while it was waiting; the kernel state is kept',
          traceback: ['Interrupted: the cell was interrupted while it was waiting; the kernel state is kept'],
        });
      } else if (typeof outcome === 'object' && outcome !== null && 'v' in outcome) {
        const value = (outcome as { v: unknown }).v;
        if (value !== undefined) {
          showResult(value, exec);
        }
      }
    } catch (err) {
      status = 'error';
      this.post({ t: 'error', exec, ...describeError(err, this.sourceMaps) });
    } finally {
      this.running = undefined;
    }
    this.post({ t: 'done', exec, status });
  }

  /** Interrupts execution `exec` if it is the one running. */
  interrupt(exec: number): void {
    if (this.running?.exec === exec) {
      this.running.interrupt();
    }
  }
}
