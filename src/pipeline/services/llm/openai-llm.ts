import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { ServiceError } from '../service-error.js';
import type { ChatMessage, LlmChunk, LlmRequest, LlmService, ToolCall } from './llm.js';

/**
 * OpenAI-compatible chat completions, streamed (`POST {baseUrl}/chat/completions` with
 * `stream: true`, server-sent events of `chat.completion.chunk`, ended by `data: [DONE]`), through
 * the `openai` package so any compatible server works by base URL. Tool-call deltas arrive in
 * pieces keyed by `index` and are assembled; each complete call is yielded when the stream ends.
 */
export interface OpenAiLlmOptions {
  readonly apiKey?: string;
  readonly baseUrl?: string;
  readonly model: string;
  readonly temperature?: number;
  readonly maxTokens?: number;
  /** Time to the response headers. */
  readonly timeoutMs?: number;
}

export class OpenAiLlm implements LlmService {
  readonly name = 'openai';
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAiLlmOptions) {
    this.client = new OpenAI({
      apiKey: options.apiKey ?? 'not-needed',
      ...(options.baseUrl !== undefined ? { baseURL: options.baseUrl } : {}),
      maxRetries: 0,
      timeout: options.timeoutMs ?? 15_000,
    });
  }

  async *chat(request: LlmRequest): AsyncIterable<LlmChunk> {
    const tools: ChatCompletionTool[] = request.tools.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: { ...t.parameters } },
    }));
    let stream;
    try {
      stream = await this.client.chat.completions.create(
        {
          model: this.options.model,
          messages: request.messages.map(toWire),
          stream: true,
          ...(tools.length > 0 ? { tools } : {}),
          ...(this.options.temperature !== undefined ? { temperature: this.options.temperature } : {}),
          ...(this.options.maxTokens !== undefined ? { max_tokens: this.options.maxTokens } : {}),
        },
        request.signal !== undefined ? { signal: request.signal } : {},
      );
    } catch (err) {
      throw ServiceError.from('llm', this.name, err);
    }
    const calls = new Map<number, { id: string; name: string; arguments: string }>();
    try {
      for await (const chunk of stream) {
        const delta = chunk.choices[0]?.delta;
        if (delta === undefined) continue;
        if (typeof delta.content === 'string' && delta.content !== '') yield { type: 'text', text: delta.content };
        for (const tc of delta.tool_calls ?? []) {
          let call = calls.get(tc.index);
          if (call === undefined) {
            call = { id: tc.id ?? `call_${tc.index}`, name: '', arguments: '' };
            calls.set(tc.index, call);
          }
          if (tc.id !== undefined && tc.id !== '') call.id = tc.id;
          if (tc.function?.name !== undefined) call.name += tc.function.name;
          if (tc.function?.arguments !== undefined) call.arguments += tc.function.arguments;
        }
      }
    } catch (err) {
      throw ServiceError.from('llm', this.name, err);
    }
    for (const call of [...calls.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])) {
      const done: ToolCall = { id: call.id, name: call.name, arguments: call.arguments };
      yield { type: 'tool-call', call: done };
    }
  }
}

function toWire(m: ChatMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case 'assistant':
      return {
        role: 'assistant',
        content: m.content,
        ...(m.tool_calls !== undefined && m.tool_calls.length > 0
          ? { tool_calls: m.tool_calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) }
          : {}),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: m.tool_call_id, content: m.content };
    default:
      return { role: m.role, content: m.content };
  }
}
