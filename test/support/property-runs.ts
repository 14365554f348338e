/**
 * How many cases a property test tries. `npm test` runs the property tests (*.property.test.ts) with `quick`
 * runs so that it stays a few minutes long; `npm run test:system` (scripts/run-tests.mjs --system) runs them
 * again with SF_PROPERTY_RUNS=full, the `full` count. SF_PROPERTY_RUNS=<n> asks for n runs (a long soak,
 * or a quick reproduction).
 */
export function propertyRuns(full: number, quick: number): number {
  const asked = process.env.SF_PROPERTY_RUNS;
  if (asked === undefined || asked === '') return quick;
  if (asked === 'full') return full;
  const n = Number(asked);
  if (!Number.isInteger(n) || n < 1) throw new Error(`SF_PROPERTY_RUNS must be 'full' or a positive whole number, not '${asked}'`);
  return n;
}
