/**
 * Kernel figures: the time of a trivial cell on a warm kernel (`kernel-cell`), and the transpile time of
 * one cell with each option compared for kernel/transpile.ts (typescript's transpileModule alone, the
 * kernel's transpileCell = transpileModule + persistent-context rewrite + source map, sucrase, esbuild).
 */
import ts from 'typescript';
import { Kernel } from '../kernel/kernel';
import { transpileCell } from '../kernel/transpile';
import { percentile, report } from './report';

const TRIVIAL = '1 + 1';
// A typical notebook cell: types, a function, a class, an await and a final expression.
const TYPICAL = `interface Point { x: number; y: number }
const points: Point[] = Array.from({ length: 10 }, (_, i) => ({ x: i, y: i * i }));
function norm(p: Point): number {
  return Math.sqrt(p.x * p.x + p.y * p.y);
}
class Stats {
  constructor(private readonly values: number[]) {}
  mean(): number { return this.values.reduce((a, b) => a + b, 0) / this.values.length; }
}
const futures = client.map((p: Point) => p.x + p.y, points);
const results = (await client.gather(futures)) as number[];
const stats = new Stats(points.map(norm));
console.log('mean', stats.mean());
results.slice(0, 3)
`;

type Transpile = (source: string) => unknown;

/** Optional comparisons: dev dependencies, absent in a production install. */
function optional<T>(name: string): T | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as T;
  } catch {
    return undefined;
  }
}

function transpilers(): Record<string, Transpile> {
  const options: Record<string, Transpile> = {
    'typescript-transpileModule': (source) =>
      ts.transpileModule(source, {
        fileName: 'cell.ts',
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: true, verbatimModuleSyntax: true },
      }),
    'kernel-transpileCell': (source) => transpileCell(source, 'typescript', 'cell'),
  };
  const sucrase = optional<{ transform: (code: string, options: object) => unknown }>('sucrase');
  if (sucrase) {
    options.sucrase = (source) => sucrase.transform(source, { transforms: ['typescript'], filePath: 'cell.ts', sourceMapOptions: { compiledFilename: 'cell.js' } });
  }
  const esbuild = optional<{ transformSync: (code: string, options: object) => unknown }>('esbuild');
  if (esbuild) {
    options.esbuild = (source) => esbuild.transformSync(source, { loader: 'ts', sourcemap: 'external', target: 'es2022', format: 'esm' });
  }
  return options;
}

function timeEach(fn: () => unknown, iterations: number): number[] {
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return samples.sort((a, b) => a - b);
}

/** Prints the kernel figures as JSON lines. */
export async function run(): Promise<void> {
  for (const [name, transpile] of Object.entries(transpilers())) {
    const first = timeEach(() => transpile(TYPICAL), 1)[0];
    timeEach(() => transpile(TYPICAL), 50);
    for (const [cellName, source] of [['trivial', TRIVIAL], ['typical', TYPICAL]] as const) {
      const samples = timeEach(() => transpile(source), 300);
      report(`transpile-${name}-${cellName}`, percentile(samples, 50), 'ms', { p95: Number(percentile(samples, 95).toPrecision(4)) });
    }
    report(`transpile-${name}-first-call`, first, 'ms');
  }

  const kernel = await Kernel.start({ runtimeModule: null });
  try {
    for (let i = 0; i < 50; i++) {
      await kernel.execute(TRIVIAL);
    }
    const samples: number[] = [];
    for (let i = 0; i < 500; i++) {
      const start = process.hrtime.bigint();
      const cell = await kernel.execute(TRIVIAL);
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
      if (cell.status !== 'ok') {
        throw new Error(`kernel-cell bench: the cell failed: ${JSON.stringify(cell.error)}`);
      }
    }
    samples.sort((a, b) => a - b);
    report('kernel-cell', percentile(samples, 50), 'ms', { p95: Number(percentile(samples, 95).toPrecision(4)), cell: TRIVIAL, target: '<= 5 ms' });
  } finally {
    await kernel.dispose();
  }
}
