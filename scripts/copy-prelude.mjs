// Puts the notebook prelude (kernel/notebook-prelude.d.ts) beside the runtime's declarations in dist/types,
// where the language engine and the TypeScript server plugin read it (it imports ./scheduler/index).
import fs from 'node:fs';
import path from 'node:path';

const target = path.resolve('dist/types/notebook-prelude.d.ts');
fs.mkdirSync(path.dirname(target), { recursive: true });
fs.copyFileSync(path.resolve('kernel/notebook-prelude.d.ts'), target);
