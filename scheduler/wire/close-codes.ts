/** WebSocket close codes the scheduler and its peers send; 4000–4999 are the application's. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  tooBig: 1009,
  badHandshake: 4000,
  authFailed: 4001,
  versionMismatch: 4002,
  rateLimited: 4003,
  slowConsumer: 4004,
  duplicateClient: 4005,
  workerLost: 4006,
} as const;
