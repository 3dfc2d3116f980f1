/**
 * src/pipeline: the in-process bot pipeline. Frames in tiers (system frames overtake queued
 * audio), processors chained both ways, built-in processors (VAD, end of turn, barge-in, DTMF
 * collector, silence timeout, max duration, turn timeline), an offline TTS, a pull-based playout,
 * and the built-in bots `echo` and `demo`. Imports only src/shared and src/codec.
 */
export * from './frames.js';
export type { BotEvent, BotEventType, TurnMetrics, TurnStage } from './events.js';
export { FrameProcessor, PassThroughProcessor } from './frame-processor.js';
export type { FrameSink, ProcessorContext } from './frame-processor.js';
export { Pipeline } from './pipeline.js';
export type { PipelineOptions } from './pipeline.js';
export { runProcessorTest } from './run-processor-test.js';
export type { FrameExpectation, ProcessorTestOptions, ProcessorTestResult, TestInput } from './run-processor-test.js';
export { TurnTimeline } from './turn-timeline.js';
export { PlayoutProcessor, UtterancePlayout, textPortion, PLAYOUT_FRAME_MS, PLAYOUT_FRAME_SAMPLES, PLAYOUT_RATE } from './playout.js';
export type { PlayoutSource } from './playout.js';
export { Fvad, loadFvad } from './fvad.js';
export type { VadMode } from './fvad.js';
export { VadProcessor, DEFAULT_VAD_OPTIONS } from './vad-processor.js';
export type { VadOptions, VadState } from './vad-processor.js';
export { EndOfTurnProcessor, DEFAULT_END_OF_TURN_OPTIONS } from './end-of-turn-processor.js';
export type { EndOfTurnOptions } from './end-of-turn-processor.js';
export { BargeInProcessor, DEFAULT_BARGE_IN_OPTIONS } from './barge-in-processor.js';
export type { BargeInOptions } from './barge-in-processor.js';
export { DtmfCollector, DEFAULT_DTMF_COLLECTOR_OPTIONS } from './dtmf-collector.js';
export type { DtmfCollectorOptions } from './dtmf-collector.js';
export { SilenceTimeoutProcessor, DEFAULT_SILENCE_TIMEOUT_OPTIONS } from './silence-timeout-processor.js';
export type { SilenceTimeoutOptions } from './silence-timeout-processor.js';
export { MaxDurationProcessor, DEFAULT_MAX_DURATION_OPTIONS } from './max-duration-processor.js';
export type { MaxDurationOptions } from './max-duration-processor.js';
export { FliteTts } from './flite-tts.js';
export type { FliteOptions, TtsAudio, TtsEngine } from './flite-tts.js';
export { PromptCache } from './prompt-cache.js';
export { TtsProcessor } from './tts-processor.js';
export { parseWav, encodeWav } from './wav.js';
export type { WavAudio } from './wav.js';
export { BotEventHub, PipelineBot } from './bot.js';
export type { Bot, BotContext } from './bot.js';
export { EchoBot } from './echo-bot.js';
export { DemoBot, DemoMenuProcessor, DEMO_PROMPTS } from './demo-bot.js';
export type { DemoBotOptions } from './demo-bot.js';
export { createBot, isBotName } from './create-bot.js';
export type { BotName, BotOptions, BuiltInBotName } from './create-bot.js';
export { TwilioStreamBot, DEFAULT_TWILIO_STREAM_OPTIONS } from './bots/twilio-stream-bot.js';
export type { TwilioStreamBotOptions } from './bots/twilio-stream-bot.js';
export { MediaStreamPlayout } from './bots/media-stream-playout.js';
export * from './services/index.js';
export { AgentBot, DEFAULT_AGENT_PHRASES, DEFAULT_AGENT_FAILURE } from './bots/agent/agent-bot.js';
export type { AgentBotOptions } from './bots/agent/agent-bot.js';
export { AgentProcessor } from './bots/agent/agent-processor.js';
export type { AgentPhrases, AgentFailurePolicy, AgentProcessorOptions, AgentCallHooks } from './bots/agent/agent-processor.js';
export { SttProcessor } from './bots/agent/stt-processor.js';
export { StreamingTtsProcessor } from './bots/agent/streaming-tts-processor.js';
export { SentenceChunker, DEFAULT_SENTENCE_CHUNKER } from './bots/agent/sentence-chunker.js';
export type { SentenceChunkerOptions } from './bots/agent/sentence-chunker.js';
export { guardStream } from './bots/agent/guard-stream.js';
export { callHttpTool, MAX_TOOL_RESULT_CHARS } from './bots/agent/http-tool.js';
export type { HttpToolConfig } from './bots/agent/http-tool.js';
export { agentOptionsFromConfig } from './bots/agent/agent-from-config.js';
export { CallRecorder } from './call-recorder.js';
