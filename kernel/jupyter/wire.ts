/**
 * The Jupyter wire format: a multipart ZeroMQ message
 *
 *   [routing identities…, '<IDS|MSG>', signature, header, parent_header, metadata, content, buffers…]
 *
 * where the signature is the hex HMAC-SHA256 of the four JSON parts, keyed by the connection file's key.
 * Decoding checks the signature before it parses anything: a message that fails is never dispatched.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const DELIMITER = '<IDS|MSG>';
/** The protocol version this kernel speaks, sent in every header. */
export const PROTOCOL_VERSION = '5.3';

/** A message header. */
export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

/** JSON object, as message contents and metadata are. */
export type JsonObject = { [key: string]: unknown };

/** A decoded (or to-be-encoded) message. */
export interface JupyterMessage<Content extends JsonObject = JsonObject> {
  /** ROUTER identities to route a reply back; empty for iopub. */
  identities: Buffer[];
  header: MessageHeader;
  /** The header of the request this answers, or `{}`. */
  parent_header: MessageHeader | Record<string, never>;
  metadata: JsonObject;
  content: Content;
  buffers: Buffer[];
}

export type WireErrorCode = 'no-delimiter' | 'too-few-parts' | 'missing-signature' | 'bad-signature' | 'replayed-signature' | 'bad-json' | 'bad-header';

/** A message that cannot be accepted; `code` says which check failed. */
export class WireError extends Error {
  constructor(
    readonly code: WireErrorCode,
    message: string,
    /** The routing identities, when they could be read (to log which peer sent it). */
    readonly identities: Buffer[] = [],
  ) {
    super(message);
    this.name = 'WireError';
  }
}

/** How many signatures are remembered to refuse a replayed message (as ipykernel does). */
const SIGNATURE_HISTORY = 1 << 14;

/** Signs and verifies messages with the connection key. */
export class Signer {
  private readonly key: Buffer;
  private readonly seen = new Set<string>();

  constructor(key: string) {
    this.key = Buffer.from(key, 'utf8');
  }

  /** True when messages are signed (a non-empty key). */
  get enabled(): boolean {
    return this.key.length > 0;
  }

  /** The hex signature of the four JSON parts. */
  sign(parts: readonly Buffer[]): string {
    if (!this.enabled) {
      return '';
    }
    const hmac = createHmac('sha256', this.key);
    for (const part of parts) {
      hmac.update(part);
    }
    return hmac.digest('hex');
  }

  /** Checks a received signature in constant time; a signature seen before is refused as a replay. */
  verify(signature: string, parts: readonly Buffer[]): 'ok' | 'missing-signature' | 'bad-signature' | 'replayed-signature' {
    if (!this.enabled) {
      return 'ok';
    }
    if (signature === '') {
      return 'missing-signature';
    }
    const expected = Buffer.from(this.sign(parts), 'utf8');
    const given = Buffer.from(signature, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return 'bad-signature';
    }
    if (this.seen.has(signature)) {
      return 'replayed-signature';
    }
    if (this.seen.size >= SIGNATURE_HISTORY) {
      // Forget the oldest half; a replay has to come soon after the original to matter.
      let drop = SIGNATURE_HISTORY >> 1;
      for (const old of this.seen) {
        this.seen.delete(old);
        if (--drop === 0) break;
      }
    }
    this.seen.add(signature);
    return 'ok';
  }
}

function parseJson(part: Buffer, what: string, identities: Buffer[]): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(part.toString('utf8'));
  } catch {
    throw new WireError('bad-json', `the ${what} is not JSON`, identities);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WireError('bad-json', `the ${what} is not a JSON object`, identities);
  }
  return value as JsonObject;
}

const HEADER_FIELDS = ['msg_id', 'msg_type'] as const;

/** Decodes a multipart message, verifying its signature first. Throws WireError. */
export function decode(frames: readonly Buffer[], signer: Signer): JupyterMessage {
  const delimiter = frames.findIndex((frame) => frame.length === DELIMITER.length && frame.toString('latin1') === DELIMITER);
  if (delimiter < 0) {
    throw new WireError('no-delimiter', `no ${DELIMITER} delimiter among ${frames.length} frames`);
  }
  const identities = frames.slice(0, delimiter).map((frame) => Buffer.from(frame));
  const rest = frames.slice(delimiter + 1);
  if (rest.length < 5) {
    throw new WireError('too-few-parts', `expected signature, header, parent_header, metadata and content after the delimiter, got ${rest.length} parts`, identities);
  }
  const [signatureFrame, headerFrame, parentFrame, metadataFrame, contentFrame, ...buffers] = rest;
  const verdict = signer.verify(signatureFrame.toString('utf8'), [headerFrame, parentFrame, metadataFrame, contentFrame]);
  if (verdict !== 'ok') {
    const says = { 'missing-signature': 'has no signature', 'bad-signature': 'has a wrong signature', 'replayed-signature': 'repeats the signature of an earlier message' }[verdict];
    throw new WireError(verdict, `the message ${says}`, identities);
  }
  const header = parseJson(headerFrame, 'header', identities);
  for (const field of HEADER_FIELDS) {
    if (typeof header[field] !== 'string' || header[field] === '') {
      throw new WireError('bad-header', `the header has no ${field}`, identities);
    }
  }
  return {
    identities,
    header: header as unknown as MessageHeader,
    parent_header: parseJson(parentFrame, 'parent_header', identities) as MessageHeader | Record<string, never>,
    metadata: parseJson(metadataFrame, 'metadata', identities),
    content: parseJson(contentFrame, 'content', identities),
    buffers: buffers.map((b) => Buffer.from(b)),
  };
}

/** Encodes a message into frames, signed. */
export function encode(message: JupyterMessage, signer: Signer): Buffer[] {
  const parts = [message.header, message.parent_header, message.metadata, message.content].map((part) => Buffer.from(JSON.stringify(part), 'utf8'));
  return [...message.identities, Buffer.from(DELIMITER, 'latin1'), Buffer.from(signer.sign(parts), 'utf8'), ...parts, ...message.buffers];
}
