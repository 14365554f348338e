/**
 * The Jupyter protocol shell over the notebook kernel: reads requests from the shell and control sockets,
 * checks their signatures, dispatches them by `msg_type` to small handlers (requests.ts for those that need
 * no running cell), runs execute requests one at a time, and publishes the kernel's outputs on iopub (as
 * iopub.ts maps them). The kernel (kernel/kernel.ts) knows nothing of this; it only runs cells.
 */
import type { CellRun, Kernel, KernelOutput } from '../kernel';
import type { ConnectionInfo } from './connection';
import type { CellIntrospection } from './introspection';
import { iopubMessage, mimeBundle, type CellContext } from './iopub';
import { completeReply, ExecutionHistory, inspectReply, isCompleteReply, kernelInfoReply } from './requests';
import { MessageFactory } from './session';
import { KernelSockets, type RequestChannel } from './sockets';
import { decode, encode, Signer, WireError, type JsonObject, type JupyterMessage, type MessageHeader } from './wire';

/** Options of `JupyterServer.start`. */
export interface JupyterServerOptions {
  /** The kernel, or its start: the sockets bind (and the heartbeat answers) before it is ready. */
  kernel: Kernel | Promise<Kernel>;
  introspection?: CellIntrospection;
  /** Where log lines go (stderr by default; Jupyter shows a kernel's stderr in its server log). */
  log?: (line: string) => void;
  /** Called once after a `shutdown_request` was answered and everything was closed. */
  onShutdown?: (restart: boolean) => void;
  /** Shown in kernel_info's banner: where `client` is connected. */
  schedulerDescription?: () => string;
}

type Handler = (message: JupyterMessage, channel: RequestChannel) => Promise<JsonObject> | JsonObject;

/** A Jupyter kernel: the sockets of one connection file serving one notebook kernel. */
export class JupyterServer {
  private readonly messages = new MessageFactory();
  private readonly signer: Signer;
  private readonly log: (line: string) => void;
  private readonly handlers: Record<string, Handler>;
  /** Shell requests read but not handled yet (execute runs one at a time). */
  private readonly shellQueue: JupyterMessage[] = [];
  private wakeShell: (() => void) | undefined;
  private executionCount = 0;
  private readonly history = new ExecutionHistory();
  /** Kernel execution number → the context its outputs belong to. */
  private readonly contexts = new Map<number, CellContext>();
  private running: CellContext | undefined;
  private stopping = false;
  /** Set by a failed cell with stop_on_error: once its reply is out, queued executions are aborted. */
  private abortAfterReply = false;
  private kernel!: Kernel;
  /** Resolves once the kernel is attached; requests wait for it. */
  private readonly ready: Promise<void>;

  private constructor(
    private readonly sockets: KernelSockets,
    info: ConnectionInfo,
    private readonly options: JupyterServerOptions,
  ) {
    this.signer = new Signer(info.key);
    this.log = options.log ?? ((line) => process.stderr.write(`[shared-futures kernel] ${line}\n`));
    this.handlers = {
      kernel_info_request: () => kernelInfoReply(options.schedulerDescription),
      execute_request: (m) => this.execute(m),
      is_complete_request: (m) => isCompleteReply(m),
      complete_request: (m) => completeReply(m, options.introspection),
      inspect_request: (m) => inspectReply(m, options.introspection),
      history_request: (m) => this.history.reply(m),
      comm_info_request: () => ({ status: 'ok', comms: {} }),
      interrupt_request: () => this.interrupt(),
      shutdown_request: (m) => ({ status: 'ok', restart: m.content.restart === true }),
    };
    this.ready = Promise.resolve(options.kernel).then((kernel) => this.attach(kernel));
    // A kernel that failed to start is reported by whoever started it; requests then stay unanswered.
    this.ready.catch(() => undefined);
  }

  private attach(kernel: Kernel): void {
    this.kernel = kernel;
    kernel.onOutput((output) => this.publishOutput(output));
    kernel.onStatus((status) => {
      if (status === 'restarting') {
        // A new kernel thread numbers its executions from 1 again; old live views will not change any more.
        this.contexts.clear();
        this.options.introspection?.reset();
      }
    });
  }

  /** Binds the sockets of `info` and starts serving. */
  static async start(info: ConnectionInfo, options: JupyterServerOptions): Promise<JupyterServer> {
    const log = options.log ?? ((line: string) => process.stderr.write(`[shared-futures kernel] ${line}\n`));
    const sockets = await KernelSockets.bind(info, log);
    const server = new JupyterServer(sockets, info, { ...options, log });
    server.publish('status', { execution_state: 'starting' });
    void server.readLoop('shell');
    void server.readLoop('control');
    void server.readLoop('stdin');
    void server.shellLoop();
    return server;
  }

  /** Stops serving and disposes of the kernel. */
  async close(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wakeShell?.();
    await this.sockets.drained();
    this.sockets.close();
    this.options.introspection?.dispose();
    await this.kernel?.dispose();
  }

  // ---- receiving and dispatch --------------------------------------------------------------------

  private async readLoop(channel: RequestChannel): Promise<void> {
    try {
      for await (const frames of this.sockets.receive(channel)) {
        const message = this.accept(frames, channel);
        if (!message) continue;
        if (channel === 'shell' && message.header.msg_type === 'execute_request') {
          this.shellQueue.push(message);
          this.wakeShell?.();
        } else if (channel === 'stdin') {
          this.log(`ignored ${message.header.msg_type} on stdin: this kernel does not ask for input`);
        } else {
          // Everything but execution is answered at once, also while a cell runs (so interrupt,
          // completion and kernel_info never wait for a cell).
          void this.dispatch(message, channel);
        }
      }
    } catch (err) {
      if (!this.stopping) this.log(`the ${channel} socket failed: ${(err as Error).message}`);
    }
  }

  /** Verifies and decodes; a message that fails is logged and dropped, never dispatched. */
  private accept(frames: Buffer[], channel: RequestChannel): JupyterMessage | undefined {
    try {
      return decode(frames, this.signer);
    } catch (err) {
      if (err instanceof WireError) {
        const from = err.identities.length > 0 ? ` from ${err.identities.map((id) => id.toString('hex')).join('/')}` : '';
        this.log(`dropped a message on ${channel}${from}: ${err.message} (${err.code})`);
        return undefined;
      }
      throw err;
    }
  }

  private async shellLoop(): Promise<void> {
    while (!this.stopping) {
      const message = this.shellQueue.shift();
      if (!message) {
        await new Promise<void>((resolve) => (this.wakeShell = resolve));
        this.wakeShell = undefined;
        continue;
      }
      await this.dispatch(message, 'shell');
    }
  }

  private async dispatch(message: JupyterMessage, channel: RequestChannel): Promise<void> {
    await this.ready;
    const type = message.header.msg_type;
    const handler = Object.hasOwn(this.handlers, type) ? this.handlers[type] : undefined;
    this.publish('status', { execution_state: 'busy' }, message.header);
    try {
      if (!handler) {
        this.log(`unknown message type '${type}' on ${channel}: answered with an error`);
        if (type.endsWith('_request')) {
          this.reply(channel, message, type.replace(/_request$/, '_reply'), {
            status: 'error',
            ename: 'UnknownMessageType',
            evalue: `this kernel does not handle '${type}'`,
            traceback: [],
          });
        }
        return;
      }
      let content: JsonObject;
      try {
        content = await handler(message, channel);
      } catch (err) {
        this.log(`${type} failed: ${(err as Error).stack ?? String(err)}`);
        content = { status: 'error', ename: (err as Error).name ?? 'Error', evalue: (err as Error).message ?? String(err), traceback: [] };
      }
      this.reply(channel, message, type.replace(/_request$/, '_reply'), content);
      if (this.abortAfterReply && type === 'execute_request') {
        this.abortAfterReply = false;
        this.abortQueuedExecutions();
      }
      if (type === 'shutdown_request') {
        this.publish('shutdown_reply', content, message.header);
        this.publish('status', { execution_state: 'idle' }, message.header);
        await this.close();
        this.options.onShutdown?.(content.restart === true);
        return;
      }
    } finally {
      if (type !== 'shutdown_request') this.publish('status', { execution_state: 'idle' }, message.header);
    }
  }

  // ---- sending ----------------------------------------------------------------------------------

  private reply(channel: RequestChannel, request: JupyterMessage, msgType: string, content: JsonObject): void {
    void this.sockets.send(channel, encode(this.messages.make(msgType, content, request.header, request.identities), this.signer));
  }

  private publish(msgType: string, content: JsonObject, parent?: MessageHeader): void {
    const message = this.messages.make(msgType, content, parent, [Buffer.from(`kernel.${this.messages.session}.${msgType}`)]);
    void this.sockets.send('iopub', encode(message, this.signer));
  }

  // ---- handlers ---------------------------------------------------------------------------------

  private async execute(message: JupyterMessage): Promise<JsonObject> {
    const content = message.content;
    const code = typeof content.code === 'string' ? content.code : '';
    const silent = content.silent === true;
    const storeHistory = !silent && content.store_history !== false;
    const stopOnError = content.stop_on_error !== false;
    if (storeHistory) this.executionCount++;
    const count = this.executionCount;
    if (!silent) this.publish('execute_input', { code, execution_count: count }, message.header);

    const context: CellContext = { parent: message.header, count, silent, quiet: false, shown: new Set() };
    // JupyterLab and nbclient name the cell in the request's metadata: a cell run again replaces its earlier run.
    const cellId = typeof message.metadata.cellId === 'string' ? message.metadata.cellId : undefined;
    const run = await this.runInContext(code, context, silent ? '<silent>' : `In [${count}]`, cellId);
    if (storeHistory) {
      const result = run.outputs.find((o) => o.type === 'display' && o.result);
      const plain = result?.type === 'display' ? result.data['text/plain'] : undefined;
      this.history.add({ count, input: code, ...(typeof plain === 'string' ? { output: plain } : {}) });
    }
    if (run.status === 'ok' || run.status === 'aborted') {
      if (run.status === 'ok') this.options.introspection?.cellExecuted(code, cellId);
      if (run.status === 'aborted') {
        return { status: 'aborted', execution_count: count };
      }
      const userExpressions = await this.userExpressions(content.user_expressions, message.header);
      return { status: 'ok', execution_count: count, user_expressions: userExpressions, payload: [] };
    }
    if (stopOnError) this.abortAfterReply = true;
    const error = run.error ?? { ename: run.status === 'interrupted' ? 'Interrupted' : 'Error', evalue: '', traceback: [] };
    return { status: 'error', execution_count: count, ename: error.ename, evalue: error.evalue, traceback: error.traceback };
  }

  private async runInContext(code: string, context: CellContext, label: string, cellId?: string): Promise<CellRun> {
    this.running = context;
    try {
      const run = await this.kernel.execute(code, { language: 'typescript', label, ...(cellId ? { cellId } : {}), ...(context.quiet ? { typeCheck: 'off' as const } : {}) });
      if (run.execution > 0) this.contexts.set(run.execution, context);
      return run;
    } finally {
      this.running = undefined;
    }
  }

  /** After a failed cell or an interrupt, execute requests already received are answered `aborted`, as ipykernel does. */
  private abortQueuedExecutions(): void {
    const queued = this.shellQueue.splice(0);
    for (const message of queued) {
      this.publish('status', { execution_state: 'busy' }, message.header);
      this.reply('shell', message, 'execute_reply', { status: 'aborted', execution_count: this.executionCount });
      this.publish('status', { execution_state: 'idle' }, message.header);
    }
  }

  private async userExpressions(expressions: unknown, parent: MessageHeader): Promise<JsonObject> {
    const result: JsonObject = {};
    if (typeof expressions !== 'object' || expressions === null) return result;
    for (const [name, expression] of Object.entries(expressions as Record<string, unknown>)) {
      if (typeof expression !== 'string') {
        result[name] = { status: 'error', ename: 'TypeError', evalue: 'a user expression must be a string', traceback: [] };
        continue;
      }
      const context: CellContext = { parent, count: this.executionCount, silent: true, quiet: true, shown: new Set() };
      const run = await this.runInContext(`(${expression}\n)`, context, `<user_expressions.${name}>`);
      const value = run.outputs.find((o) => o.type === 'display' && o.result);
      if (run.status === 'ok') {
        result[name] = { status: 'ok', data: value?.type === 'display' ? mimeBundle(value.data) : { 'text/plain': 'undefined' }, metadata: {} };
      } else {
        const error = run.error ?? { ename: 'Error', evalue: run.status, traceback: [] };
        result[name] = { status: 'error', ename: error.ename, evalue: error.evalue, traceback: error.traceback };
      }
    }
    return result;
  }

  private async interrupt(): Promise<JsonObject> {
    this.abortQueuedExecutions();
    await this.kernel.interrupt();
    return { status: 'ok' };
  }

  // ---- outputs ----------------------------------------------------------------------------------

  private contextOf(output: KernelOutput): CellContext | undefined {
    const known = this.contexts.get(output.execution);
    if (known) return known;
    // Outputs of the cell that runs now arrive before its execution number is recorded.
    if (this.running) {
      this.contexts.set(output.execution, this.running);
      return this.running;
    }
    return undefined;
  }

  private publishOutput(output: KernelOutput): void {
    const context = this.contextOf(output);
    const message = context ? iopubMessage(output, context) : undefined;
    if (context && message) this.publish(message.msgType, message.content, context.parent);
  }
}
