/** Entry of the `shared-futures` bin (dist/cli.js). */
import { main } from './cli';
import { failureLine } from './failures';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Not expected: main turns every failure into a line. Still one line, and the stack only on request.
    process.stderr.write(`${failureLine(undefined, err).line}${process.env.SHARED_FUTURES_DEBUG ? `\n${(err as Error)?.stack ?? ''}` : ''}\n`);
    process.exit(1);
  },
);
