/**
 * The short-lived part (a web request handler in real life): scatters a JSON workflow graph into the
 * channel `input` and exits. The scheduler keeps the scattered graph alive for the service.
 *
 *   node submit.js ws://host:port graph.json
 */
import fs from 'node:fs';
import { connect, exitOnFailure, ProgramError } from './connect';

async function main(): Promise<void> {
  const [address, file] = process.argv.slice(2);
  if (!file) throw new ProgramError('usage: node submit.js ws://host:port graph.json');
  const graph = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  const client = await connect(address);
  const [scattered] = await client.scatter([graph]);
  const input = client.channel('input');
  input.append(scattered);
  await input.flush();
  console.log(`submitted ${Object.keys(graph).join(', ')} as ${scattered.key}`);
  await client.close();
}

main().catch(exitOnFailure);
