/**
 * The connection file Jupyter hands a kernel (`{connection_file}` in kernel.json): where to bind its five
 * sockets and the key that signs every message. Read and validated here, once, at start.
 */
import * as fs from 'node:fs';

/** The fields of a connection file this kernel uses. */
export interface ConnectionInfo {
  transport: 'tcp' | 'ipc';
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  /** HMAC key; an empty key means messages are not signed (Jupyter allows it, for tests). */
  key: string;
  signature_scheme: string;
  kernel_name?: string;
}

/** A connection file that cannot be used; the message says why. */
export class ConnectionFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionFileError';
  }
}

const PORTS = ['shell_port', 'iopub_port', 'stdin_port', 'control_port', 'hb_port'] as const;

/** Parses and checks a connection file's JSON text. */
export function parseConnectionInfo(text: string, source = 'the connection file'): ConnectionInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConnectionFileError(`${source} is not JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConnectionFileError(`${source} must hold a JSON object`);
  }
  const obj = raw as Record<string, unknown>;
  const transport = obj.transport ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'ipc') {
    throw new ConnectionFileError(`${source}: transport must be "tcp" or "ipc", got ${JSON.stringify(transport)}`);
  }
  const ip = obj.ip ?? '127.0.0.1';
  if (typeof ip !== 'string' || ip === '') {
    throw new ConnectionFileError(`${source}: ip must be a non-empty string`);
  }
  const ports = {} as Record<(typeof PORTS)[number], number>;
  for (const name of PORTS) {
    const port = obj[name];
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw new ConnectionFileError(`${source}: ${name} must be a port number, got ${JSON.stringify(port)}`);
    }
    ports[name] = port;
  }
  const key = obj.key ?? '';
  if (typeof key !== 'string') {
    throw new ConnectionFileError(`${source}: key must be a string`);
  }
  const scheme = obj.signature_scheme ?? 'hmac-sha256';
  if (scheme !== 'hmac-sha256') {
    throw new ConnectionFileError(`${source}: signature_scheme ${JSON.stringify(scheme)} is not supported, only "hmac-sha256"`);
  }
  return {
    transport,
    ip,
    ...ports,
    key,
    signature_scheme: scheme,
    ...(typeof obj.kernel_name === 'string' ? { kernel_name: obj.kernel_name } : {}),
  };
}

/** Reads a connection file. */
export function readConnectionFile(file: string): ConnectionInfo {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConnectionFileError(`cannot read the connection file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseConnectionInfo(text, file);
}

/** The ZeroMQ endpoint of one port: `tcp://ip:port`, or `ipc://ip-port` as Jupyter names ipc sockets. */
export function endpoint(info: ConnectionInfo, port: number): string {
  return info.transport === 'tcp' ? `tcp://${info.ip.includes(':') ? `[${info.ip}]` : info.ip}:${port}` : `ipc://${info.ip}-${port}`;
}
