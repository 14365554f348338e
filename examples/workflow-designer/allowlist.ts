/** Which function references a workflow graph may use, and where workers find them. */
import path from 'node:path';

/** References users may put in a graph, `'module#export'`; anything else is refused. */
export const ALLOWED = new Set(['functions#add', 'functions#multiply', 'functions#total', 'functions#fail']);

/** A graph as the designer sends it: `{ tracking_key: ["module#export", arg, ...] | value }`. */
export type WorkflowGraph = Record<string, unknown>;

/** What the service appends to `output` instead of futures when it refuses a graph. */
export interface Refusal {
  error: 'FunctionNotAllowed';
  message: string;
  /** The graph's tracking keys: none of them runs. */
  keys: string[];
  refused: string[];
}

/** The references of `graph` outside the allowlist (a node is a call when it is an array starting with a string). */
export function refusedReferences(graph: WorkflowGraph): string[] {
  const refused: string[] = [];
  for (const node of Object.values(graph)) {
    if (Array.isArray(node) && typeof node[0] === 'string' && !ALLOWED.has(node[0])) refused.push(node[0]);
  }
  return refused;
}

/** The graph with each allowed reference turned into one a worker can load (the module's absolute path). */
export function resolveReferences(graph: WorkflowGraph): WorkflowGraph {
  const out: WorkflowGraph = {};
  for (const [key, node] of Object.entries(graph)) {
    if (Array.isArray(node) && typeof node[0] === 'string') {
      const [mod, name] = node[0].split('#');
      out[key] = [`${path.join(__dirname, `${mod}.js`)}#${name}`, ...node.slice(1)];
    } else {
      out[key] = node;
    }
  }
  return out;
}
