// Minimal ambient types for npm `sip` 0.0.6 (it ships none), used only as a benchmark baseline.
declare module 'sip' {
  interface SipJsonMessage {
    method?: string;
    uri?: string;
    status?: number;
    reason?: string;
    headers: Record<string, unknown>;
    content?: string;
  }
  const sip: {
    parse(s: string): SipJsonMessage;
    stringify(m: SipJsonMessage): string;
  };
  export default sip;
}
