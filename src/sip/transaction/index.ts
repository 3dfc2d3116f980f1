/**
 * SIP transaction layer (RFC 3261 §17 with RFC 6026): the four transaction state machines,
 * request/response matching, and the stateless path for ACK-to-2xx and 2xx retransmissions.
 */
export type {
  TransactionTimers,
  TerminationReason,
  ServerTransaction,
  ClientTransactionHandlers,
  ClientTransaction,
  SipTransportLike,
  TransactionLayerOptions,
} from './types.js';
export { TransactionLayer } from './transaction-layer.js';
export type { RequestScreen, RequestVerdict } from './transaction-layer.js';
export { TransactionStateError } from './transaction-state-error.js';
export { InviteClientState } from './invite-client-transaction.js';
export { InviteServerState } from './invite-server-transaction.js';
export { NonInviteClientState } from './non-invite-client-transaction.js';
export { NonInviteServerState } from './non-invite-server-transaction.js';
