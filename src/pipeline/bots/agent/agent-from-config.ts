import { DEFAULTS, type AgentConfig, type Clock } from '../../../shared/index.js';
import { FliteTts } from '../../flite-tts.js';
import type { LlmService } from '../../services/llm/llm.js';
import { OpenAiLlm } from '../../services/llm/openai-llm.js';
import { DeepgramStt } from '../../services/stt/deepgram-stt.js';
import { OpenAiStt } from '../../services/stt/openai-stt.js';
import { PocketsphinxStt } from '../../services/stt/pocketsphinx-stt.js';
import type { SttService } from '../../services/stt/stt.js';
import { DeepgramTts } from '../../services/tts/deepgram-tts.js';
import { EngineTts } from '../../services/tts/engine-tts.js';
import { OpenAiTts } from '../../services/tts/openai-tts.js';
import type { TtsService } from '../../services/tts/tts.js';
import type { AgentBotOptions } from './agent-bot.js';

type Env = Readonly<Record<string, string | undefined>>;

function key(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/**
 * The providers and policy of one agent call from the validated config; credentials come from the
 * environment (DEEPGRAM_API_KEY, OPENAI_API_KEY) at call time, never from the config. Each call
 * gets its own provider objects (one Deepgram socket per call), closed with the bot.
 */
export function agentOptionsFromConfig(config: AgentConfig = DEFAULTS.agent, env: Env = process.env, clock?: Clock): AgentBotOptions {
  const openaiKey = key(env, 'OPENAI_API_KEY');
  const deepgramKey = key(env, 'DEEPGRAM_API_KEY');
  const llmBase = config.llm.baseUrl;

  let stt: SttService;
  switch (config.stt.provider) {
    case 'deepgram':
      stt = new DeepgramStt({
        apiKey: deepgramKey ?? '',
        ...(config.stt.baseUrl !== undefined ? { baseUrl: config.stt.baseUrl } : {}),
        ...(config.stt.model !== undefined ? { model: config.stt.model } : {}),
        ...(config.stt.language !== undefined ? { language: config.stt.language } : {}),
        ...(clock !== undefined ? { clock } : {}),
      });
      break;
    case 'openai': {
      const baseUrl = config.stt.baseUrl ?? llmBase;
      stt = new OpenAiStt({
        ...(openaiKey !== undefined ? { apiKey: openaiKey } : {}),
        ...(baseUrl !== undefined ? { baseUrl } : {}),
        ...(config.stt.model !== undefined ? { model: config.stt.model } : {}),
        ...(config.stt.language !== undefined ? { language: config.stt.language.slice(0, 2) } : {}),
      });
      break;
    }
    case 'pocketsphinx':
      stt = new PocketsphinxStt({
        ...(config.stt.grammarPath !== undefined ? { grammarPath: config.stt.grammarPath } : {}),
        ...(config.stt.keywords !== undefined ? { keywords: config.stt.keywords } : {}),
      });
      break;
  }

  const llm: LlmService = new OpenAiLlm({
    model: config.llm.model,
    ...(openaiKey !== undefined ? { apiKey: openaiKey } : {}),
    ...(llmBase !== undefined ? { baseUrl: llmBase } : {}),
    ...(config.llm.temperature !== undefined ? { temperature: config.llm.temperature } : {}),
  });

  let tts: TtsService;
  switch (config.tts.provider) {
    case 'openai': {
      const baseUrl = config.tts.baseUrl ?? llmBase;
      tts = new OpenAiTts({
        ...(openaiKey !== undefined ? { apiKey: openaiKey } : {}),
        ...(baseUrl !== undefined ? { baseUrl } : {}),
        ...(config.tts.model !== undefined ? { model: config.tts.model } : {}),
        ...(config.tts.voice !== undefined ? { voice: config.tts.voice } : {}),
      });
      break;
    }
    case 'deepgram':
      tts = new DeepgramTts({
        apiKey: deepgramKey ?? '',
        ...(config.tts.baseUrl !== undefined ? { baseUrl: config.tts.baseUrl } : {}),
        ...(config.tts.model !== undefined ? { model: config.tts.model } : {}),
        ...(clock !== undefined ? { clock } : {}),
      });
      break;
    case 'flite':
      tts = new EngineTts(FliteTts.shared(), 8000);
      break;
  }

  return {
    stt,
    llm,
    tts,
    systemPrompt: config.systemPrompt,
    greeting: config.greeting ?? null,
    transferTargets: config.transferTargets,
    httpTools: config.tools,
    retries: config.retries,
    stallMs: config.stallMs,
    endOfTurnDelayMs: config.endOfTurnDelayMs,
    failure: { action: config.onFailure.action, target: config.onFailure.target ?? null, apology: config.onFailure.apology },
  };
}
