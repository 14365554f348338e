/** Entry of the `shared-futures` bin (dist/cli.js). */
import { main } from './cli';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`shared-futures: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
