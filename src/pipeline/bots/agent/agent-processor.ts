import { FrameProcessor } from '../../frame-processor.js';
import { frames, type AfterPlayout, type Frame, type FrameDirection, type PlayedPortion } from '../../frames.js';
import type { TtsAudio } from '../../flite-tts.js';
import type { ChatMessage, LlmService, ToolCall, ToolDefinition } from '../../services/llm/llm.js';
import { ServiceError } from '../../services/service-error.js';
import { guardStream } from './guard-stream.js';
import { callHttpTool, httpToolDefinition, type HttpToolConfig } from './http-tool.js';
import { SentenceChunker } from './sentence-chunker.js';

export interface AgentPhrases {
  /** Said before a transfer when the model said nothing itself. */
  readonly transferring: string;
  /** Said before hanging up when the model said nothing itself. */
  readonly goodbye: string;
  /** Said when the caller's words were lost (STT session dropped mid-turn). */
  readonly repeat: string;
}

export interface AgentFailurePolicy {
  readonly action: 'transfer' | 'hangup';
  /** SIP URI for `transfer`; without one the call is hung up. */
  readonly target: string | null;
  /** Played from cache (offline TTS), so it works when every provider is down. */
  readonly apology: string;
}

export interface AgentProcessorOptions {
  readonly systemPrompt: string;
  readonly greeting: string | null;
  /** Names the model may transfer to → SIP URIs. */
  readonly transferTargets: Readonly<Record<string, string>>;
  readonly httpTools: readonly HttpToolConfig[];
  readonly retries: number;
  readonly stallMs: number;
  readonly maxToolRounds: number;
  readonly phrases: AgentPhrases;
  readonly failure: AgentFailurePolicy;
}

export interface AgentCallHooks {
  readonly callId: string;
  readonly sendDtmf?: (digits: string) => void;
}

/** One assistant message as it was generated, and what the caller actually heard of it. */
interface AssistantTurn {
  message: (ChatMessage & { role: 'assistant' }) | null;
  readonly heard: string[];
  trimmed: boolean;
}

interface SpokenPiece {
  readonly turn: AssistantTurn;
  readonly text: string;
}

type Terminal = { readonly after: AfterPlayout; readonly phrase: string };

/**
 * The agent's brain: keeps the conversation (system prompt, caller turns, assistant turns, tool
 * calls and results), runs the LLM on each final transcript, streams the reply into sentence-sized
 * speak frames as it is generated, and runs tools — transfer_call and end_call (after the reply
 * has been played), send_dtmf, and user-defined HTTP tools (results go back to the model).
 *
 * Barge-in: the reply being generated is aborted, and the assistant turn in the context is cut
 * down to what the caller heard — whole sentences reported played, plus the played portion of the
 * one that was cut (from the playout's bot-interrupted frame).
 *
 * Failure: a provider error that survives the retries (or is not retryable) aborts the reply,
 * clears the playout and plays a cached apology, then transfers or hangs up by policy: the call
 * never goes silent.
 */
export class AgentProcessor extends FrameProcessor {
  readonly messages: ChatMessage[];
  private readonly tools: ToolDefinition[];
  private generation = 0;
  private controller: AbortController | null = null;
  private running = false;
  private pieces: SpokenPiece[] = [];
  private terminal: Terminal | null = null;
  private failing = false;
  private apologyAudio: TtsAudio | null = null;

  constructor(
    private readonly llm: LlmService,
    private readonly options: AgentProcessorOptions,
    private readonly call: AgentCallHooks,
  ) {
    super('agent');
    this.messages = [{ role: 'system', content: options.systemPrompt }];
    this.tools = this.buildTools();
  }

  /** The apology's audio, synthesized in advance by the bot (offline engine). */
  setApologyAudio(audio: TtsAudio): void {
    this.apologyAudio = audio;
  }

  get replying(): boolean {
    return this.running;
  }

  private buildTools(): ToolDefinition[] {
    const names = Object.keys(this.options.transferTargets);
    const tools: ToolDefinition[] = [];
    if (names.length > 0) {
      tools.push({
        name: 'transfer_call',
        description: 'Transfer the caller to a person or department. Say a short sentence first; the transfer happens after it has been played.',
        parameters: {
          type: 'object',
          properties: { destination: { type: 'string', enum: names, description: 'Where to transfer the caller' } },
          required: ['destination'],
        },
      });
    }
    tools.push({
      name: 'end_call',
      description: 'Hang up once the conversation is over. Say goodbye first; the call ends after it has been played.',
      parameters: { type: 'object', properties: { reason: { type: 'string' } } },
    });
    if (this.call.sendDtmf !== undefined) {
      tools.push({
        name: 'send_dtmf',
        description: 'Send DTMF digits on the call (to navigate a phone menu).',
        parameters: { type: 'object', properties: { digits: { type: 'string', pattern: '^[0-9*#A-Da-d]+$' } }, required: ['digits'] },
      });
    }
    for (const t of this.options.httpTools) tools.push(httpToolDefinition(t));
    return tools;
  }

  protected processFrame(frame: Frame, direction: FrameDirection): void {
    this.pushFrame(frame, direction);
    if (direction === 'upstream') {
      if (frame.kind === 'bot-interrupted') this.onInterrupted(frame.played);
      return;
    }
    switch (frame.kind) {
      case 'start':
        if (this.options.greeting !== null) {
          const turn = this.newTurn();
          this.say(turn, this.options.greeting);
          this.setContent(turn, this.options.greeting);
        }
        return;
      case 'transcription':
        if (frame.final) this.onTranscript(frame.text);
        return;
      case 'end':
        this.abortReply();
        return;
      default:
        return;
    }
  }

  /** An utterance played to its end (from the playout's utterance-played event). */
  onPlayed(played: PlayedPortion): void {
    const piece = this.pieces[0];
    if (piece === undefined || piece.text !== played.text) return;
    this.pieces.shift();
    piece.turn.heard.push(piece.text);
  }

  /**
   * The transfer the model asked for did not happen and the caller is still on the line: the
   * conversation resumes (the transfer no longer ends it), a system message tells the model why,
   * and the model answers the caller.
   */
  onTransferFailed(reason: string, status?: number): void {
    if (this.failing) return;
    this.terminal = null;
    this.abortReply();
    const code = status !== undefined ? ` (SIP ${status})` : '';
    this.messages.push({
      role: 'system',
      content: `The call transfer did not go through: ${reason}${code}. The caller is still on the line with you. Tell them briefly, then offer to help another way.`,
    });
    const generation = ++this.generation;
    this.running = true;
    void this.runReply(generation).finally(() => {
      if (this.generation === generation) this.running = false;
    });
  }

  /** The STT lost the caller's words: ask again. */
  onTurnLost(): void {
    if (this.terminal !== null || this.failing) return;
    this.say(this.newTurn(), this.options.phrases.repeat);
  }

  private onTranscript(text: string): void {
    const clean = text.trim();
    if (clean === '' || this.terminal !== null || this.failing) return;
    this.ctx.emit({ type: 'transcript', role: 'user', text: clean, final: true });
    this.ctx.logger.info({ pii: { transcript: clean } }, 'caller said');
    if (this.running || this.pieces.length > 0) {
      // a newer caller turn replaces the reply still being generated or queued
      this.abortReply();
      this.pushFrame(frames.interruption('new-turn'));
    }
    this.messages.push({ role: 'user', content: clean });
    const generation = ++this.generation;
    this.running = true;
    void this.runReply(generation).finally(() => {
      if (this.generation === generation) this.running = false;
    });
  }

  private abortReply(): void {
    this.generation++;
    this.running = false;
    this.controller?.abort();
    this.controller = null;
  }

  private onInterrupted(played: PlayedPortion | null): void {
    this.abortReply();
    const affected = new Set<AssistantTurn>();
    this.pieces.forEach((piece, i) => {
      affected.add(piece.turn);
      if (i === 0 && played !== null && played.text === piece.text && played.playedText !== '') piece.turn.heard.push(played.playedText);
    });
    this.pieces = [];
    for (const turn of affected) this.trim(turn);
    const terminal = this.terminal;
    if (terminal !== null && !this.failing) {
      // the caller cut the goodbye/transfer sentence short: carry it out now
      this.requestAfter(terminal.after);
    }
  }

  private trim(turn: AssistantTurn): void {
    turn.trimmed = true;
    const heard = turn.heard.join(' ').trim();
    const message = turn.message;
    if (message === null) return;
    if (heard === '' && (message.tool_calls === undefined || message.tool_calls.length === 0)) {
      const i = this.messages.indexOf(message);
      if (i >= 0) this.messages.splice(i, 1);
      turn.message = null;
      return;
    }
    message.content = heard === '' ? null : heard;
    this.ctx.logger.debug({ pii: { heard } }, 'assistant turn trimmed to what was heard');
  }

  private newTurn(): AssistantTurn {
    return { message: null, heard: [], trimmed: false };
  }

  private setContent(turn: AssistantTurn, text: string, toolCalls?: readonly ToolCall[]): void {
    if (turn.trimmed) return;
    if (turn.message === null) {
      turn.message = { role: 'assistant', content: text };
      this.messages.push(turn.message);
    }
    turn.message.content = text === '' ? null : text;
    if (toolCalls !== undefined && toolCalls.length > 0) turn.message.tool_calls = toolCalls;
  }

  private say(turn: AssistantTurn, text: string, options: { after?: AfterPlayout; allowInterruptions?: boolean } = {}): void {
    this.pieces.push({ turn, text });
    if (turn.message === null) this.setContent(turn, '');
    this.pushFrame(frames.speak(text, options));
  }

  /** Queues a silent 20 ms utterance carrying `after`: it runs once everything before it has played. */
  private afterQueued(after: AfterPlayout): void {
    const id = this.ctx.nextUtteranceId();
    this.pushFrame(frames.ttsStarted(id, '', { allowInterruptions: false, after }));
    this.pushFrame(frames.ttsAudio(id, new Int16Array(160), 8000));
    this.pushFrame(frames.ttsStopped(id));
  }

  private requestAfter(after: AfterPlayout): void {
    this.pushFrame('hangup' in after ? frames.hangup(after.hangup) : frames.transfer(after.transfer), 'upstream');
  }

  private async runReply(generation: number): Promise<void> {
    for (let round = 0; round <= this.options.maxToolRounds; round++) {
      const turn = this.newTurn();
      const chunker = new SentenceChunker();
      let text = '';
      let calls: ToolCall[] = [];
      let firstToken = true;
      for (let attempt = 0; ; attempt++) {
        const controller = new AbortController();
        this.controller = controller;
        text = '';
        calls = [];
        try {
          const stream = guardStream(
            this.llm.chat({ messages: this.messages.slice(), tools: this.tools, signal: controller.signal }),
            this.ctx.clock,
            this.options.stallMs,
            'llm',
            this.llm.name,
            () => controller.abort(),
          );
          for await (const chunk of stream) {
            if (generation !== this.generation) return;
            if (firstToken) {
              firstToken = false;
              this.ctx.timeline.mark('llm-first-token');
            }
            if (chunk.type === 'text') {
              text += chunk.text;
              for (const piece of chunker.push(chunk.text)) this.say(turn, piece);
              this.setContent(turn, text);
            } else {
              calls.push(chunk.call);
            }
          }
          break;
        } catch (err) {
          if (generation !== this.generation) return;
          const e = ServiceError.from('llm', this.llm.name, err);
          // a retry is safe only while nothing of the reply has been spoken
          if (e.retryable && text === '' && calls.length === 0 && attempt < this.options.retries) {
            this.ctx.logger.warn({ err: e.message, attempt: attempt + 1 }, 'llm failed; retrying');
            continue;
          }
          this.fail(e);
          return;
        } finally {
          if (this.controller === controller) this.controller = null;
        }
      }
      if (generation !== this.generation) return;
      this.setContent(turn, text, calls);
      if (text !== '') this.ctx.emit({ type: 'transcript', role: 'bot', text, final: true });
      const rest = chunker.flush();
      const terminal = this.terminalFor(calls);
      if (terminal !== null) {
        this.terminal = terminal;
        for (const call of calls) this.messages.push({ role: 'tool', tool_call_id: call.id, content: call === terminal.call ? terminal.result : 'skipped' });
        if (rest !== '') this.say(turn, rest, { after: terminal.after, allowInterruptions: false });
        else if (text === '') this.say(turn, terminal.phrase, { after: terminal.after, allowInterruptions: false });
        else this.afterQueued(terminal.after);
        this.ctx.logger.info({ tool: terminal.call.name }, 'agent ends its part of the call');
        return;
      }
      if (rest !== '') this.say(turn, rest);
      if (calls.length === 0) return;
      for (const call of calls) {
        const controller = new AbortController();
        this.controller = controller;
        const result = await this.runTool(call, controller.signal);
        if (this.controller === controller) this.controller = null;
        if (generation !== this.generation) return;
        this.messages.push({ role: 'tool', tool_call_id: call.id, content: result });
      }
    }
    this.ctx.logger.warn({ rounds: this.options.maxToolRounds }, 'agent stopped after too many tool rounds');
  }

  private terminalFor(calls: readonly ToolCall[]): (Terminal & { call: ToolCall; result: string }) | null {
    for (const call of calls) {
      if (call.name === 'end_call') {
        return { call, after: { hangup: 'bot-hangup' }, phrase: this.options.phrases.goodbye, result: 'call ending' };
      }
      if (call.name === 'transfer_call') {
        const args = parseArgs(call.arguments);
        const names = Object.keys(this.options.transferTargets);
        const dest = typeof args.destination === 'string' ? args.destination : '';
        const target = this.options.transferTargets[dest] ?? (names.length === 1 ? this.options.transferTargets[names[0]!] : undefined);
        if (target === undefined) continue; // unknown destination: reported to the model by runTool
        return { call, after: { transfer: target }, phrase: this.options.phrases.transferring, result: `transferring to ${dest}` };
      }
    }
    return null;
  }

  private async runTool(call: ToolCall, signal: AbortSignal): Promise<string> {
    const args = parseArgs(call.arguments);
    this.ctx.logger.info({ tool: call.name }, 'tool call');
    if (call.name === 'send_dtmf') {
      const digits = typeof args.digits === 'string' ? args.digits : '';
      if (!/^[0-9*#A-Da-d]+$/.test(digits)) return 'error: digits must be 0-9, *, #, A-D';
      if (this.call.sendDtmf === undefined) return 'error: this call cannot send DTMF';
      this.call.sendDtmf(digits.toUpperCase());
      return `sent ${digits}`;
    }
    if (call.name === 'transfer_call') {
      return `error: unknown destination; use one of ${Object.keys(this.options.transferTargets).join(', ')}`;
    }
    const tool = this.options.httpTools.find((t) => t.name === call.name);
    if (tool === undefined) return `error: no tool named ${call.name}`;
    return callHttpTool(tool, args, this.call.callId, signal);
  }

  /** A provider failed for good: apologise (cached audio) and transfer or hang up. */
  fail(err: ServiceError): void {
    if (this.failing) return;
    this.failing = true;
    this.abortReply();
    this.ctx.logger.error({ err: err.message, kind: err.kind, provider: err.provider, retryable: err.retryable }, 'agent service failed; giving up on the conversation');
    this.ctx.emit({ type: 'error', processor: `${err.kind}:${err.provider}`, message: err.message });
    this.pushFrame(frames.interruption('service-failure'));
    const policy = this.options.failure;
    const after: AfterPlayout = policy.action === 'transfer' && policy.target !== null ? { transfer: policy.target } : { hangup: 'bot-service-failure' };
    const audio = this.apologyAudio;
    if (audio === null) {
      this.requestAfter(after);
      return;
    }
    const id = this.ctx.nextUtteranceId();
    this.pushFrame(frames.ttsStarted(id, policy.apology, { allowInterruptions: false, after }));
    this.pushFrame(frames.ttsAudio(id, audio.audio, audio.sampleRate));
    this.pushFrame(frames.ttsStopped(id));
  }

  override cleanup(): void {
    super.cleanup();
    this.abortReply();
  }
}

function parseArgs(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text === '' ? '{}' : text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
