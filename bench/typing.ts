/**
 * Typed cells (PERFORMANCE.md `typing`): on a 50-cell notebook (each cell ~10 lines, using the prelude and
 * names of earlier cells), warm,
 * - `typing-completion-after-edit`: one keystroke in cell 25, then completions after `client.` there;
 * - `typing-diagnostics-after-edit`: one keystroke in cell 25, then the diagnostics of the whole notebook
 *   (steady state: the first edit after the first check re-checks every later cell once);
 * - `typing-diagnostics-after-declaration-edit`: the same when the edit adds a declaration (every later
 *   cell's imports change);
 * - `typing-language-service-memory`: heap held by the engine for that notebook (after GC);
 * - `typing-kernel-check-overhead`: a trivial cell (`1 + 1`) run with the kernel's type check on (`warn`)
 *   and off, interleaved; the figure is the difference of the medians.
 * Figures are printed, never asserted.
 */
import { Kernel } from '../kernel/kernel';
import { LanguageEngine, type EngineCell } from '../kernel/language-engine';
import { median, percentile, report } from './report';

const CELLS = 50;
const EDITED = 25;
const ROUNDS = 80;

/** Cell `i` of the notebook: a type, a function, a task, a channel, and a use of cell i-1's names. */
function cellSource(i: number, keystroke = ''): string {
  const previous = i === 0 ? '0' : `value${i - 1} + helper${i - 1}(${i})`;
  return [
    `interface Row${i} { id: number; label: string; score: number }`,
    `function helper${i}(n: number): number {`,
    `  return n * ${i + 1}${keystroke};`,
    '}',
    `const rows${i}: Row${i}[] = [1, 2, 3].map((id) => ({ id, label: 'row ' + id, score: helper${i}(id) }));`,
    `const future${i} = client.submit((xs: Row${i}[]) => xs.reduce((a, r) => a + r.score, 0), rows${i});`,
    `const chan${i} = client.channel<Future<number>>('chan-${i}');`,
    `chan${i}.append(future${i});`,
    `const value${i}: number = (await future${i}.result()) + ${previous};`,
    `value${i}`,
  ].join('\n');
}

function notebook(keystroke = '', declaration = ''): EngineCell[] {
  return Array.from({ length: CELLS }, (_, i) => ({
    id: `cell-${i}`,
    source: i === EDITED ? `${cellSource(i, keystroke)}${declaration}\nclient.` : cellSource(i),
    language: 'typescript' as const,
  }));
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function gcHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

function reportLatency(name: string, samples: number[], target: string): void {
  report(name, percentile(samples, 50), 'ms', { p99: Number(percentile(samples, 99).toPrecision(4)), samples: samples.length, cells: CELLS, target });
}

/** Prints the typing figures as JSON lines. */
export async function run(): Promise<void> {
  const heapBefore = gcHeap();
  const engine = new LanguageEngine();
  const coldStart = process.hrtime.bigint();
  engine.setCells(notebook());
  const problems = engine.diagnostics().filter((d) => d.kind === 'types');
  report('typing-first-check', ms(coldStart), 'ms', { cells: CELLS, note: 'cold: libraries parsed and bound' });
  if (problems.length > 0) {
    throw new Error(`the bench notebook should type-check clean: ${problems.map((p) => `${p.cellId}:${p.line + 1} ${p.message}`).join('; ')}`);
  }
  const edited = `cell-${EDITED}`;
  const completionAt = () => notebook()[EDITED].source.length;

  // Warm up both paths, then measure one keystroke at a time (the edited digit changes every round).
  const completion: number[] = [];
  const diagnostics: number[] = [];
  const declarationEdit: number[] = [];
  for (let round = -10; round < ROUNDS; round++) {
    let start = process.hrtime.bigint();
    engine.setCells(notebook(` + ${round & 7}`));
    const entries = engine.completions(edited, completionAt() + ` + ${round & 7}`.length).entries;
    const completionMs = ms(start);
    if (!entries.some((e) => e.name === 'submit')) {
      throw new Error('completions after client. lack submit');
    }

    start = process.hrtime.bigint();
    engine.setCells(notebook(` - ${round & 7}`));
    engine.diagnostics();
    const diagnosticsMs = ms(start);
    if (round >= 0) {
      completion.push(completionMs);
      diagnostics.push(diagnosticsMs);
    }
  }
  // An edit that changes what the cell declares: every later cell imports from it, so all are checked again.
  for (let round = -5; round < ROUNDS / 2; round++) {
    const start = process.hrtime.bigint();
    engine.setCells(notebook('', `\nconst added${round} = ${round};`));
    engine.diagnostics();
    if (round >= 0) {
      declarationEdit.push(ms(start));
    }
  }
  reportLatency('typing-completion-after-edit', completion, 'p50 <= 50 ms');
  reportLatency('typing-diagnostics-after-edit', diagnostics, 'p50 <= 150 ms');
  reportLatency('typing-diagnostics-after-declaration-edit', declarationEdit, 'p50 <= 150 ms');
  const heapWith = gcHeap();
  report('typing-language-service-memory', (heapWith - heapBefore) / (1024 * 1024), 'MiB', {
    cells: CELLS,
    programFiles: engine.stats().files,
    note: 'heap held by the engine with its program (libraries and @types/node included), after GC',
  });
  engine.dispose();

  const kernel = await Kernel.start({ runtimeModule: null });
  try {
    const trivial = '1 + 1';
    for (let i = 0; i < 30; i++) {
      await kernel.execute(trivial, { typeCheck: 'warn', cellId: 'trivial' });
      await kernel.execute(trivial, { typeCheck: 'off', cellId: 'trivial' });
    }
    const on: number[] = [];
    const off: number[] = [];
    for (let i = 0; i < 300; i++) {
      for (const mode of i % 2 === 0 ? (['warn', 'off'] as const) : (['off', 'warn'] as const)) {
        const start = process.hrtime.bigint();
        const cell = await kernel.execute(trivial, { typeCheck: mode, cellId: 'trivial' });
        (mode === 'warn' ? on : off).push(ms(start));
        if (cell.status !== 'ok') {
          throw new Error(`typing bench: the trivial cell failed: ${JSON.stringify(cell.error)}`);
        }
      }
    }
    report('typing-kernel-check-overhead', median(on) - median(off), 'ms', {
      withCheckP50: Number(median(on).toPrecision(4)),
      withoutCheckP50: Number(median(off).toPrecision(4)),
      withCheckP99: Number(percentile(on, 99).toPrecision(4)),
      cell: trivial,
      target: '<= 10 ms',
    });
  } finally {
    await kernel.dispose();
  }
}
