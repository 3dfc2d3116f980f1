import type { AgentConfig, BridgeConfig } from '../shared/index.js';
import type { Bot, BotContext } from './bot.js';
import { AgentBot, type AgentBotOptions } from './bots/agent/agent-bot.js';
import { agentOptionsFromConfig } from './bots/agent/agent-from-config.js';
import { TwilioStreamBot } from './bots/twilio-stream-bot.js';
import { DemoBot, type DemoBotOptions } from './demo-bot.js';
import { EchoBot } from './echo-bot.js';

export type BuiltInBotName = 'demo' | 'echo';
/** Every bot `createBot` knows: the built-ins, the `agent`, and a ws(s):// Media Streams bridge. */
export type BotName = BuiltInBotName | 'agent' | `ws://${string}` | `wss://${string}`;

export type BotOptions = DemoBotOptions & {
  /** The agent's config section (default DEFAULTS.agent). */
  readonly agent?: AgentConfig;
  /** Ready-made agent options (tests); takes precedence over `agent`. */
  readonly agentOptions?: AgentBotOptions;
  readonly bridge?: BridgeConfig;
  /** Where provider credentials are read (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
};

export function isBotName(name: string): name is BotName {
  return name === 'demo' || name === 'echo' || name === 'agent' || /^wss?:\/\/\S+$/.test(name);
}

/** A bot for one call: demo, echo, agent, or a ws(s):// URL bridged with the Twilio Media Streams protocol. */
export function createBot(name: BotName, context: BotContext, options: BotOptions = {}): Bot {
  if (name === 'echo') return new EchoBot(context);
  if (name === 'demo') return new DemoBot(context, options);
  if (name === 'agent') return new AgentBot(context, options.agentOptions ?? agentOptionsFromConfig(options.agent, options.env, context.clock));
  if (/^wss?:\/\//.test(name)) {
    const b = options.bridge;
    return new TwilioStreamBot(context, {
      url: name,
      ...(b !== undefined ? { maxReconnects: b.maxReconnects, reconnectDelayMs: b.reconnectDelayMs, connectTimeoutMs: b.connectTimeoutMs } : {}),
      ...(b?.accountSid !== undefined ? { accountSid: b.accountSid } : {}),
    });
  }
  throw new RangeError(`unknown bot ${String(name)} (demo, echo, agent, ws:// or wss:// URL)`);
}
