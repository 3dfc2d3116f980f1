export { CidrSet } from './cidr-set.js';
export { InboundTrunkTable } from './inbound-trunk-table.js';
export type { TrunkMatch } from './inbound-trunk-table.js';
