/** What task functions find in scope on a worker (see scheduler/pool/worker-entry.ts). */
declare function sleep(ms: number): Promise<void>;
declare function localClient(): import('../../scheduler').Client;
declare function zip(...channels: AsyncIterable<unknown>[]): AsyncIterable<unknown[]>;
