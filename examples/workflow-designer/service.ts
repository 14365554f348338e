/**
 * The long-running service: takes each graph from channel `input`, checks every function reference
 * against the allowlist, runs the graph and appends its futures to channel `output`. A graph naming a
 * function outside the allowlist does not run at all: a Refusal value goes to `output` instead.
 *
 *   node service.js ws://host:port
 */
import type { Future } from 'shared-futures';
import { refusedReferences, resolveReferences, ALLOWED, type Refusal, type WorkflowGraph } from './allowlist';
import { connect, exitOnFailure } from './connect';

async function main(): Promise<void> {
  const client = await connect(process.argv[2]);
  const input = client.channel('input');
  const output = client.channel('output');
  // Graphs appended before this point are replayed to the iteration below: nothing is missed.
  console.log('workflow service ready');
  const stop = () => void client.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for await (const item of input) {
    const graph = (await (item as Future).result()) as WorkflowGraph;
    (item as Future).release();
    const keys = Object.keys(graph);
    const refused = refusedReferences(graph);
    if (refused.length > 0) {
      const refusal: Refusal = {
        error: 'FunctionNotAllowed',
        message: `refused graph ${keys.join(', ')}: ${refused.map((r) => `'${r}'`).join(', ')} not in the allowlist (${[...ALLOWED].join(', ')}); nothing was run`,
        keys,
        refused,
      };
      output.append(refusal);
      console.log(refusal.message);
    } else {
      const futures = client.submitGraph(resolveReferences(graph));
      for (const f of futures) output.append(f);
      console.log(`running ${keys.join(', ')}`);
    }
    await output.flush();
  }
}

main().catch(exitOnFailure);
