/**
 * The functions a workflow graph may name, as `'functions#<export>'`. Workers load this module by path
 * (the service turns each allowed reference into `<this folder>/functions.js#<export>`).
 */

/** Sum of two numbers. */
export function add(a: number, b: number): number {
  return a + b;
}

/** Product of two numbers. */
export function multiply(a: number, b: number): number {
  return a * b;
}

/** Sum of any number of values. */
export function total(...xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** Fails on purpose: shows an errored step in the statuses. */
export function fail(message: string): never {
  throw new Error(message);
}
