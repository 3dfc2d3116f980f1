/**
 * startTestServer with the HTTP API on a port the OS picks (test files run side by side; the
 * default 127.0.0.1:8080 would collide).
 */
import { startTestServer, type TestServer, type TestServerOptions } from '../helpers/server.js';

export async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  const file = options.file ?? {};
  const http = (file['http'] as Record<string, unknown> | undefined) ?? {};
  return startTestServer({ ...options, file: { ...file, http: { ...http, listen: '127.0.0.1:0' } } });
}
