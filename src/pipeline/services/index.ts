/**
 * Bot services: one interface per kind (STT, LLM, TTS), providers behind each, and ServiceError
 * with `retryable` for every failure.
 */
export { ServiceError, withRetries } from './service-error.js';
export type { ServiceKind } from './service-error.js';
export type { SttService, SttSession, SttSessionOptions } from './stt/stt.js';
export { DeepgramStt, DEFAULT_DEEPGRAM_STT } from './stt/deepgram-stt.js';
export type { DeepgramSttOptions } from './stt/deepgram-stt.js';
export { OpenAiStt, DEFAULT_OPENAI_STT } from './stt/openai-stt.js';
export type { OpenAiSttOptions } from './stt/openai-stt.js';
export { PocketsphinxStt, keywordGrammar, POCKETSPHINX_NOISE_FLOOR } from './stt/pocketsphinx-stt.js';
export type { PocketsphinxSttOptions } from './stt/pocketsphinx-stt.js';
export type { ChatMessage, LlmChunk, LlmRequest, LlmService, ToolCall, ToolDefinition } from './llm/llm.js';
export { OpenAiLlm } from './llm/openai-llm.js';
export type { OpenAiLlmOptions } from './llm/openai-llm.js';
export { Pcm16Assembler } from './tts/tts.js';
export type { TtsService } from './tts/tts.js';
export { OpenAiTts, DEFAULT_OPENAI_TTS } from './tts/openai-tts.js';
export type { OpenAiTtsOptions } from './tts/openai-tts.js';
export { DeepgramTts, DEFAULT_DEEPGRAM_TTS } from './tts/deepgram-tts.js';
export type { DeepgramTtsOptions } from './tts/deepgram-tts.js';
export { EngineTts } from './tts/engine-tts.js';
