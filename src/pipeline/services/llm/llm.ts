/**
 * Large language model, one interface for every provider. Messages and tool definitions follow the
 * OpenAI chat-completions shapes, which every OpenAI-compatible server (vLLM, llama.cpp, Ollama)
 * accepts; a response streams as text deltas and, at its end, complete tool calls.
 */
export interface ToolCall {
  readonly id: string;
  readonly name: string;
  /** JSON text as the model wrote it (may be invalid: parse defensively). */
  readonly arguments: string;
}

export type ChatMessage =
  | { readonly role: 'system'; content: string }
  | { readonly role: 'user'; content: string }
  | { readonly role: 'assistant'; content: string | null; tool_calls?: readonly ToolCall[] }
  | { readonly role: 'tool'; readonly tool_call_id: string; content: string };

export interface ToolDefinition {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the arguments object. */
  readonly parameters: Readonly<Record<string, unknown>>;
}

export type LlmChunk = { readonly type: 'text'; readonly text: string } | { readonly type: 'tool-call'; readonly call: ToolCall };

export interface LlmRequest {
  readonly messages: readonly ChatMessage[];
  readonly tools: readonly ToolDefinition[];
  readonly signal?: AbortSignal;
}

export interface LlmService {
  readonly name: string;
  /** Streams one response; throws ServiceError (before or between chunks). */
  chat(request: LlmRequest): AsyncIterable<LlmChunk>;
  close?(): void | Promise<void>;
}
