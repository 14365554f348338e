/** Builds the headers of the messages this kernel sends: one session id for the kernel's lifetime. */
import { randomUUID } from 'node:crypto';
import { PROTOCOL_VERSION, type JsonObject, type JupyterMessage, type MessageHeader } from './wire';

/** Makes replies and broadcasts that point at their parent request. */
export class MessageFactory {
  readonly session = randomUUID();

  /** A new header of the given type. */
  header(msgType: string): MessageHeader {
    return { msg_id: randomUUID(), session: this.session, username: 'kernel', date: new Date().toISOString(), msg_type: msgType, version: PROTOCOL_VERSION };
  }

  /** A message in answer to (or caused by) `parent`; `identities` route it back on a ROUTER socket. */
  make<Content extends JsonObject>(msgType: string, content: Content, parent?: MessageHeader | Record<string, never>, identities: Buffer[] = []): JupyterMessage<Content> {
    return { identities, header: this.header(msgType), parent_header: parent ?? {}, metadata: {}, content, buffers: [] };
  }
}
