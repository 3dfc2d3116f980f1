export type { DigestAlgorithm, DigestChallenge, DigestInputs } from './digest-challenge.js';
export { parseChallenge, parseCredentials, digestResponse, DigestParseError } from './digest-challenge.js';
export { DigestClient } from './digest-client.js';
export type { DigestClientCredentials, DigestClientOptions, DigestRequest } from './digest-client.js';
export { DigestServer } from './digest-server.js';
export type { DigestServerOptions, DigestVerdict } from './digest-server.js';
