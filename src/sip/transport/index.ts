/**
 * SIP transport layer (RFC 3261 §18, RFC 3581): UDP and TCP listeners on one port, message
 * framing, Via `received`/`rport` stamping and response routing.
 */
export type { TransportProtocol, SipEndpoint, InboundMessage, SipTransportOptions } from './types.js';
export { SipTransport } from './sip-transport.js';
export { SIP_UDP_RECEIVE_BUFFER_BYTES } from './udp-transport.js';
export { responseDestination } from './response-destination.js';
export { localAddressToward, isWildcard } from './local-address.js';
