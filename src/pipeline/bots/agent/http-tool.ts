import type { AgentHttpToolConfig } from '../../../shared/index.js';
import type { ToolDefinition } from '../../services/llm/llm.js';

/**
 * A user-defined tool the LLM may call: Trunkline sends the arguments to an HTTP endpoint. The
 * config's `agent.tools[]` entry, plus headers a program embedding the agent bot may add.
 */
export interface HttpToolConfig extends AgentHttpToolConfig {
  readonly headers?: Readonly<Record<string, string>>;
}

export function httpToolDefinition(tool: HttpToolConfig): ToolDefinition {
  return { name: tool.name, description: tool.description, parameters: tool.parameters };
}

/** Longest tool answer handed back to the model. */
export const MAX_TOOL_RESULT_CHARS = 4000;

/**
 * Calls the tool: POST sends `{ callId, arguments }` as JSON, GET puts the arguments in the query
 * string (plus callId). The result for the model is the response body (truncated), or a short
 * error text — a failing tool is reported to the model, it does not end the call.
 */
export async function callHttpTool(tool: HttpToolConfig, args: Record<string, unknown>, callId: string, signal: AbortSignal): Promise<string> {
  const timeout = AbortSignal.timeout(tool.timeoutMs);
  const combined = AbortSignal.any([signal, timeout]);
  try {
    let res: Response;
    if (tool.method === 'GET') {
      const url = new URL(tool.url);
      url.searchParams.set('callId', callId);
      for (const [k, v] of Object.entries(args)) url.searchParams.set(k, typeof v === 'string' ? v : JSON.stringify(v));
      res = await fetch(url, { method: 'GET', headers: { ...tool.headers }, signal: combined });
    } else {
      res = await fetch(tool.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...tool.headers },
        body: JSON.stringify({ callId, arguments: args }),
        signal: combined,
      });
    }
    const body = (await res.text()).slice(0, MAX_TOOL_RESULT_CHARS);
    return res.ok ? body : `error: HTTP ${res.status}: ${body}`;
  } catch (err) {
    if (timeout.aborted) return `error: the tool did not answer within ${tool.timeoutMs} ms`;
    return `error: ${err instanceof Error ? err.message : String(err)}`;
  }
}
