import type { Bot, BotContext } from './bot.js';
import { DemoBot, type DemoBotOptions } from './demo-bot.js';
import { EchoBot } from './echo-bot.js';

export type BuiltInBotName = 'demo' | 'echo';

export type BotOptions = DemoBotOptions;

/** A built-in bot for one call. */
export function createBot(name: BuiltInBotName, context: BotContext, options: BotOptions = {}): Bot {
  switch (name) {
    case 'echo':
      return new EchoBot(context);
    case 'demo':
      return new DemoBot(context, options);
    default: {
      const never: never = name;
      throw new RangeError(`unknown built-in bot ${String(never)} (demo, echo)`);
    }
  }
}
