import type { RouteConfig } from '../shared/index.js';

/** What routing looks at: the matched trunk, the called number/user, and the request's headers. */
export interface RouteInput {
  readonly trunk: string;
  /** The called party: the To (or Request-URI) user part, e.g. +15551230000. */
  readonly to: string;
  header(name: string): string | undefined;
}

interface CompiledRoute {
  readonly trunk: string | undefined;
  readonly to: RegExp | undefined;
  readonly header: { readonly name: string; readonly pattern: RegExp } | undefined;
  readonly bot: string;
}

/**
 * Chooses the bot for a call from the configured routes: the first route whose every condition
 * matches wins; with none matching, the default bot (TRUNKLINE_BOT). Patterns are compiled once.
 */
export class CallRouter {
  private readonly routes: readonly CompiledRoute[];

  constructor(
    routes: readonly RouteConfig[],
    private readonly defaultBot: string,
  ) {
    this.routes = routes.map((r) => ({
      trunk: r.match.trunk,
      to: r.match.to === undefined ? undefined : new RegExp(r.match.to),
      header: r.match.header === undefined ? undefined : { name: r.match.header.name, pattern: new RegExp(r.match.header.pattern) },
      bot: r.bot,
    }));
  }

  route(input: RouteInput): string {
    for (const r of this.routes) {
      if (r.trunk !== undefined && r.trunk !== input.trunk) continue;
      if (r.to !== undefined && !r.to.test(input.to)) continue;
      if (r.header !== undefined) {
        const value = input.header(r.header.name);
        if (value === undefined || !r.header.pattern.test(value)) continue;
      }
      return r.bot;
    }
    return this.defaultBot;
  }
}
