/**
 * Function shipping: a task function travels as its source text (id: a hash of the source) or as a
 * `'module#export'` reference (id: the reference). Each connection ships a function once; later tasks name
 * it by id.
 */
import { InvalidArgumentError } from '../protocol/errors';
import type { FnSpec } from '../protocol/messages';
import { digest } from './tokenize';

/** A task function: shipped as source, or a `'module#export'` reference. */
export type TaskFunction = ((...args: any[]) => unknown) | string; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A function as tasks name it, with a readable name for the keys of its tasks. */
export type NamedFnSpec = FnSpec & { name: string };

const fnSpecs = new WeakMap<object, NamedFnSpec>();
const refSpecs = new Map<string, NamedFnSpec>();
const REF_FORM = /^[^#\s][^#]*(#[A-Za-z_$][\w$]*)?$/;

/** The spec of `fn` (cached per function and per reference); throws on what cannot be shipped. */
export function fnSpec(fn: TaskFunction): NamedFnSpec {
  if (typeof fn === 'string') {
    let spec = refSpecs.get(fn);
    if (!spec) {
      if (!REF_FORM.test(fn)) throw new InvalidArgumentError(`'${fn}' is not a 'module#export' reference`);
      const name = fn.includes('#') ? fn.slice(fn.lastIndexOf('#') + 1) : (fn.split('/').pop() ?? 'task');
      refSpecs.set(fn, (spec = { id: `ref:${fn}`, ref: fn, name: safeName(name) }));
    }
    return spec;
  }
  let spec = fnSpecs.get(fn);
  if (!spec) {
    const src = Function.prototype.toString.call(fn);
    if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) {
      throw new InvalidArgumentError(`${fn.name || 'this function'} is native or bound and cannot be shipped: wrap it, e.g. () => ${fn.name || 'fn'}()`);
    }
    if (/^class[\s{]/.test(src)) throw new InvalidArgumentError('a class cannot be submitted as a task: submit a function');
    spec = { id: `src:${digest(src)}`, src, name: safeName(fn.name || 'lambda') };
    fnSpecs.set(fn, spec);
  }
  return spec;
}

/** What a task of a function already shipped carries: nothing (one shared list, never changed). */
const NOTHING: readonly FnSpec[] = Object.freeze([]);

/** Which functions one connection has shipped. */
export class ShippedFunctions {
  private readonly shipped = new Set<string>();

  /** What a submit of a task of `spec` must carry: the function, the first time; nothing afterwards. */
  toShip(spec: FnSpec): readonly FnSpec[] {
    if (this.shipped.has(spec.id)) return NOTHING;
    this.shipped.add(spec.id);
    return [spec.ref !== undefined ? { id: spec.id, ref: spec.ref } : { id: spec.id, src: spec.src }];
  }
}

function safeName(name: string): string {
  return name.replace(/[^\w$.-]/g, '_').slice(0, 64) || 'task';
}
