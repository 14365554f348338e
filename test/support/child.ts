/**
 * The life of a helper process that tests and benches spawn (peers, producers, consumers): runs `main`,
 * exits 0 when it resolves and 1 (with the error on stderr) when it rejects. An idle WebSocket connection
 * does not keep a process up by itself, so the process is held up until `main` settles; SIGTERM ends it
 * normally, so a CPU profile (`--cpu-prof`) is written.
 */
export function runAsChild(main: () => Promise<unknown>): void {
  process.on('SIGTERM', () => process.exit(0));
  const alive = setInterval(() => undefined, 1 << 30);
  main().then(
    () => {
      clearInterval(alive);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
