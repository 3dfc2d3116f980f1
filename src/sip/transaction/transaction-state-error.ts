/**
 * Thrown when the transaction user asks for a move its state machine does not have (a second
 * final response, a provisional after a final, a response on a terminated transaction). It is a
 * programming error in the layer above, never caused by the network: network input that fits no
 * transition is absorbed and logged instead (RFC 3261 §17 leaves it undefined).
 */
export class TransactionStateError extends Error {
  readonly state: string;
  readonly event: string;

  constructor(kind: string, state: string, event: string) {
    super(`${kind}: illegal event '${event}' in state ${state}`);
    this.name = 'TransactionStateError';
    this.state = state;
    this.event = event;
  }
}
