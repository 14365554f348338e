/**
 * The order of completions in notebook cells, shared by the language engine and the TypeScript server
 * plugin (which must not load a second copy of TypeScript, so this file imports nothing).
 */

/** Members of a Client listed first when completing after `client.`: what a notebook uses most. */
export const PREFERRED_CLIENT_MEMBERS: readonly string[] = ['submit', 'channel', 'map', 'gather', 'scatter'];

/** Names of the notebook prelude, listed first among the names in scope. */
export const PRELUDE_NAMES: readonly string[] = ['client', 'display', 'Client', 'Future', 'Channel', 'zip', 'sleep', 'localClient'];

/** Completions of a Client's members list `submit`, `channel`, `map`… first (a sortText of `0<rank>`). */
export function preferClientMembers<T extends { name: string; sortText: string }>(entries: T[], isMemberCompletion: boolean): T[] {
  if (!isMemberCompletion) {
    return entries;
  }
  const names = new Set(entries.map((entry) => entry.name));
  if (!PREFERRED_CLIENT_MEMBERS.every((name) => names.has(name)) || !names.has('submitGraph')) {
    return entries;
  }
  return entries.map((entry) => {
    const rank = PREFERRED_CLIENT_MEMBERS.indexOf(entry.name);
    return rank < 0 ? entry : { ...entry, sortText: `0${rank}` };
  });
}

/** Outside a member access, the prelude's names come before other globals (the DOM's `clientInformation`…). */
export function preferPreludeNames<T extends { name: string; sortText: string }>(entries: T[]): T[] {
  return entries.map((entry) => {
    const rank = PRELUDE_NAMES.indexOf(entry.name);
    return rank < 0 ? entry : { ...entry, sortText: `0${rank}` };
  });
}
