import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A FAKE OpenAI-compatible server for tests only (never on a default path). It speaks the
 * documented wire protocol of three endpoints:
 * - `POST /v1/chat/completions` with `stream: true`: server-sent events, one
 *   `chat.completion.chunk` JSON per `data:` line, text as `delta.content`, tool calls as
 *   `delta.tool_calls[{index, id, type, function{name, arguments}}]` split over several chunks,
 *   a final chunk with `finish_reason`, then `data: [DONE]`;
 * - `POST /v1/audio/transcriptions` (multipart/form-data with `file` and `model`) → `{"text": …}`;
 * - `POST /v1/audio/speech` with `response_format: "pcm"` → raw 24 kHz 16-bit LE mono PCM, streamed
 *   in chunks.
 * Replies are scripted per request; a script can delay, fail with an HTTP status, stall or drop
 * the connection mid-stream.
 */
export type ChatStep =
  | { readonly text: string }
  | { readonly tool: { readonly name: string; readonly arguments: string; readonly id?: string } }
  | { readonly delayMs: number }
  | { readonly stall: true }
  | { readonly disconnect: true };

export type ChatScript = { readonly status: number; readonly message?: string } | { readonly steps: readonly ChatStep[] };

export interface SpeechScript {
  readonly status?: number;
  readonly delayMs?: number;
  /** Milliseconds of audio to return (default: 60 ms per character). */
  readonly audioMs?: number;
  /** Drop the connection after this many bytes. */
  readonly disconnectAfterBytes?: number;
}

export interface RecordedRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
  readonly json: unknown;
}

/** A 24 kHz tone, `ms` long: what the fake speech endpoint returns. */
export function speechPcm(ms: number, rate = 24_000): Int16Array {
  const n = Math.round((ms * rate) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(6000 * Math.sin((2 * Math.PI * 300 * i) / rate));
  return out;
}

export class FakeOpenAiServer {
  readonly requests: RecordedRequest[] = [];
  readonly chatScripts: ChatScript[] = [];
  readonly speechScripts: SpeechScript[] = [];
  readonly transcripts: (string | { status: number })[] = [];
  /** When set, answers each chat request from its body (scripts queued in chatScripts go first). */
  chatResponder: ((body: { messages: { role: string; content: string | null }[] }) => ChatScript) | null = null;
  /** Per-chunk pacing of streamed chat replies and speech (the fake's own delay, for the bench). */
  chunkDelayMs = 0;
  private readonly stalled = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<FakeOpenAiServer> {
    let fake: FakeOpenAiServer | null = null;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void fake?.handle(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as AddressInfo;
    fake = new FakeOpenAiServer(server, `http://127.0.0.1:${port}/v1`);
    return fake;
  }

  chats(): RecordedRequest[] {
    return this.requests.filter((r) => r.path === '/v1/chat/completions');
  }

  private async handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const path = (req.url ?? '').split('?')[0] ?? '';
    let json: unknown = null;
    if ((req.headers['content-type'] ?? '').includes('application/json')) json = JSON.parse(body.toString());
    this.requests.push({ path, headers: req.headers, body, json });
    if (req.method !== 'POST') return this.error(res, 405, 'method not allowed');
    if (path === '/v1/chat/completions') return this.chat(res, json as { stream?: boolean; model?: string; messages: { role: string; content: string | null }[] });
    if (path === '/v1/audio/transcriptions') return this.transcription(req, res, body);
    if (path === '/v1/audio/speech') return this.speech(res, json as { input?: string; response_format?: string });
    return this.error(res, 404, `no route ${path}`);
  }

  private error(res: ServerResponse, status: number, message: string): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message, type: 'fake_error', code: null } }));
  }

  private async chat(res: ServerResponse, body: { stream?: boolean; model?: string; messages: { role: string; content: string | null }[] }): Promise<void> {
    const script = this.chatScripts.shift() ?? this.chatResponder?.(body) ?? { steps: [{ text: 'Okay.' }] };
    if ('status' in script) return this.error(res, script.status, script.message ?? 'scripted failure');
    if (body.stream !== true) return this.error(res, 400, 'the fake only streams');
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const base = { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created: 0, model: body.model ?? 'fake' };
    const send = (delta: object, finish: string | null = null): void => {
      res.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
    };
    send({ role: 'assistant', content: '' });
    let toolIndex = 0;
    for (const step of script.steps) {
      if (this.chunkDelayMs > 0) await sleep(this.chunkDelayMs);
      if ('text' in step) send({ content: step.text });
      else if ('delayMs' in step) await sleep(step.delayMs);
      else if ('stall' in step) {
        this.stalled.add(res);
        return; // never finishes; closed with the server
      } else if ('disconnect' in step) {
        await sleep(20); // let what was written reach the client first
        res.socket?.destroy();
        return;
      } else {
        const index = toolIndex++;
        const args = step.tool.arguments;
        const half = Math.floor(args.length / 2);
        send({ tool_calls: [{ index, id: step.tool.id ?? `call_${index}`, type: 'function', function: { name: step.tool.name, arguments: '' } }] });
        send({ tool_calls: [{ index, function: { arguments: args.slice(0, half) } }] });
        send({ tool_calls: [{ index, function: { arguments: args.slice(half) } }] });
      }
    }
    send({}, toolIndex > 0 ? 'tool_calls' : 'stop');
    res.end('data: [DONE]\n\n');
  }

  private transcription(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const type = req.headers['content-type'] ?? '';
    if (!type.startsWith('multipart/form-data')) return this.error(res, 400, 'multipart/form-data required');
    const text = body.toString('latin1');
    if (!text.includes('name="file"') || !text.includes('RIFF') || !text.includes('name="model"')) return this.error(res, 400, 'file and model required');
    const next = this.transcripts.shift() ?? '';
    if (typeof next !== 'string') return this.error(res, next.status, 'scripted failure');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ text: next }));
  }

  private async speech(res: ServerResponse, body: { input?: string; response_format?: string }): Promise<void> {
    const script = this.speechScripts.shift() ?? {};
    if (script.delayMs !== undefined) await sleep(script.delayMs);
    if (script.status !== undefined) return this.error(res, script.status, 'scripted failure');
    if (body.response_format !== 'pcm') return this.error(res, 400, 'the fake only returns pcm');
    const pcm = speechPcm(script.audioMs ?? 60 * (body.input ?? '').length);
    const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    // odd-sized chunks on purpose: the client must carry half samples over
    const chunk = 4801;
    for (let off = 0; off < bytes.length; off += chunk) {
      if (script.disconnectAfterBytes !== undefined && off >= script.disconnectAfterBytes) {
        res.socket?.destroy();
        return;
      }
      res.write(bytes.subarray(off, Math.min(bytes.length, off + chunk)));
      if (this.chunkDelayMs > 0) await sleep(this.chunkDelayMs);
    }
    res.end();
  }

  async close(): Promise<void> {
    for (const r of this.stalled) r.socket?.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
