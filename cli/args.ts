/**
 * The one command-line parser of `shared-futures`: each (sub)command is a table of its options and
 * positionals; node's util.parseArgs splits the words, this module checks them against the table and
 * writes the usage text from the same table, so what a command accepts and what its help says cannot differ.
 */
import { parseArgs } from 'node:util';

/** A mistake in the command line; the message is one line that says what to write instead. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

interface OptionBase {
  /** One-letter alias, e.g. `o` for `-o`. */
  short?: string;
  /** What the option does, for the usage text. */
  help: string;
}
/** A flag without a value. */
export interface FlagOption extends OptionBase {
  kind: 'flag';
}
/** An option with a text value. */
export interface StringOption extends OptionBase {
  kind: 'string';
  /** The value's placeholder in the usage text, e.g. `FILE`. */
  value: string;
  default?: string;
}
/** An option with a whole number from `min` to `max`. */
export interface IntOption extends OptionBase {
  kind: 'int';
  value: string;
  min: number;
  max: number;
  default?: number;
}
/** An option with a positive number (e.g. seconds). */
export interface NumberOption extends OptionBase {
  kind: 'number';
  value: string;
  default?: number;
}
/** An option with one of a few words. */
export interface ChoiceOption extends OptionBase {
  kind: 'choice';
  choices: readonly string[];
  default?: string;
}
export type OptionSpec = FlagOption | StringOption | IntOption | NumberOption | ChoiceOption;

/** A word without a dash. */
export interface PositionalSpec {
  name: string;
  help: string;
  optional?: boolean;
}

/** What the usage text needs of a command. */
export interface CommandInfo {
  /** The words after `shared-futures`, e.g. `kernel install`. */
  name: string;
  /** One line: what it does. */
  summary: string;
  positionals: readonly PositionalSpec[];
  options: Readonly<Record<string, OptionSpec>>;
  /** Lines after the options in the usage text. */
  notes?: readonly string[];
}

/** One command: `shared-futures <name> [positionals] [options]`. */
export interface CommandSpec<O extends Record<string, OptionSpec>> extends CommandInfo {
  options: O;
  /** Choose-one groups, e.g. `[['user', 'sys-prefix', 'prefix']]`. */
  exclusive?: readonly (readonly (keyof O & string)[])[];
}

type ValueOf<S extends OptionSpec> = S extends FlagOption ? boolean : S extends IntOption | NumberOption ? number : string;
/** The parsed options: each value typed by its kind; absent when not given and without a default. */
export type OptionValues<O extends Record<string, OptionSpec>> = { [K in keyof O]?: ValueOf<O[K]> };

export interface Parsed<O extends Record<string, OptionSpec>> {
  values: OptionValues<O>;
  positionals: string[];
}

/** Declares a command; the generic keeps each option's kind, so its parsed value is typed. */
export function command<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): CommandSpec<O> {
  return spec;
}

/** True when the words ask for help (`--help` or `-h` anywhere before a `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const word of argv) {
    if (word === '--') return false;
    if (word === '--help' || word === '-h') return true;
  }
  return false;
}

/** Parses `argv` (the words after the command's name) against `spec`; throws UsageError. */
export function parseCommand<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>, argv: readonly string[]): Parsed<O> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, option] of Object.entries(spec.options)) {
    options[name] = { type: option.kind === 'flag' ? 'boolean' : 'string', ...(option.short ? { short: option.short } : {}) };
  }
  // Not strict: parseArgs' own messages ("argument is ambiguous" for `--threads -1`) are about its
  // grammar, not about what the user should write; the tokens are checked here instead.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value);
      continue;
    }
    if (token.kind !== 'option') continue;
    const option = Object.hasOwn(spec.options, token.name) ? spec.options[token.name] : undefined;
    if (!option) {
      const near = Object.keys(spec.options).find((name) => name.startsWith(token.name) || token.name.startsWith(name));
      throw new UsageError(`unknown option ${token.rawName}${near ? ` (did you mean --${near}?)` : ''}`);
    }
    if (option.kind === 'flag') {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value, got '${token.value}'`);
      values[token.name] = true;
      continue;
    }
    if (token.value === undefined || token.value === '') {
      throw new UsageError(`${token.rawName} needs a value: ${token.rawName} ${placeholder(option)}`);
    }
    values[token.name] = convert(token.rawName, option, token.value);
  }
  for (const group of (spec.exclusive ?? []) as readonly (readonly string[])[]) {
    const given = group.filter((name) => values[name] !== undefined);
    if (given.length > 1) throw new UsageError(`choose one of ${andList(group.map((n) => `--${n}`))}, not ${given.map((n) => `--${n}`).join(' and ')}`);
  }
  for (const [name, option] of Object.entries(spec.options)) {
    if (values[name] === undefined && option.kind !== 'flag' && option.default !== undefined) values[name] = option.default;
  }
  const required = spec.positionals.filter((p) => !p.optional);
  if (positionals.length < required.length) {
    const missing = required[positionals.length];
    throw new UsageError(`${spec.name} needs ${missing.name}: ${synopsis(spec)}`);
  }
  if (positionals.length > spec.positionals.length) {
    const extra = positionals.slice(spec.positionals.length);
    throw new UsageError(
      spec.positionals.length === 0
        ? `${spec.name} takes no arguments, got '${extra[0]}'`
        : `${spec.name} takes ${spec.positionals.map((p) => p.name).join(' ')}, got one more: '${extra[0]}'`,
    );
  }
  return { values: values as OptionValues<O>, positionals };
}

function convert(flag: string, option: Exclude<OptionSpec, FlagOption>, raw: string): unknown {
  switch (option.kind) {
    case 'string':
      return raw;
    case 'int': {
      const n = /^[-+]?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || n < option.min || n > option.max) {
        throw new UsageError(`${flag} takes a whole number from ${option.min} to ${option.max}, got '${raw}'`);
      }
      return n;
    }
    case 'number': {
      const n = raw.trim() === '' ? NaN : Number(raw);
      if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} takes a positive number, got '${raw}'`);
      return n;
    }
    case 'choice':
      if (!option.choices.includes(raw)) throw new UsageError(`${flag} takes ${orList(option.choices)}, got '${raw}'`);
      return raw;
  }
}

function placeholder(option: Exclude<OptionSpec, FlagOption>): string {
  return option.kind === 'choice' ? option.choices.join('|') : option.value;
}

function orList(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

function andList(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** `shared-futures NAME POSITIONALS [options]` in one line. */
export function synopsis(spec: CommandInfo): string {
  const words = spec.positionals.map((p) => (p.optional ? `[${p.name}]` : p.name));
  return ['shared-futures', spec.name, ...words, ...(Object.keys(spec.options).length > 0 ? ['[options]'] : [])].join(' ');
}

/** The usage text of a command, written from its table. */
export function usage(spec: CommandInfo): string {
  const rows: [string, string][] = [];
  for (const p of spec.positionals) rows.push([p.name, p.help]);
  for (const [name, option] of Object.entries(spec.options)) {
    const left = `${option.short ? `-${option.short}, ` : ''}--${name}${option.kind === 'flag' ? '' : ` ${placeholder(option)}`}`;
    const fallback = option.kind !== 'flag' && option.default !== undefined ? ` (default ${option.default})` : '';
    rows.push([left, `${option.help}${fallback}`]);
  }
  rows.push(['-h, --help', 'show this help']);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    `usage: ${synopsis(spec)}`,
    '',
    spec.summary,
    '',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    ...(spec.notes && spec.notes.length > 0 ? ['', ...spec.notes] : []),
  ].join('\n');
}
