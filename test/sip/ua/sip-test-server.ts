/**
 * A SipUserAgent on free loopback ports with a small test application, for SIPp and loopback
 * tests. The app's behaviour is chosen by the Request-URI user (SIPp's -s):
 *   answer  180 then 200 with an answer from LocalSdpSession (or our offer for a delayed offer)
 *   hangup  answer, then BYE 300 ms after the ACK
 *   ring    180 and wait (for CANCEL)
 *   slow    answer after 300 ms
 * RTP is not involved: the SDP names a port nobody listens on.
 */
import { DEFAULTS } from '../../../src/shared/config.js';
import type { InboundTrunkConfig, TrunklineConfig } from '../../../src/shared/config.js';
import { systemClock } from '../../../src/shared/clock.js';
import { silentLogger } from '../../../src/shared/logger.js';
import { LocalSdpSession, SdpError, SipUserAgent } from '../../../src/sip/index.js';
import type { Dialog, HopDns, IncomingCall, TerminationCause, LocalMediaOptions } from '../../../src/sip/index.js';
import { freePort } from '../../helpers/sipp.js';

export interface TestServerOptions {
  inbound?: InboundTrunkConfig[];
  t1?: number;
  unknownSource?: 'reject' | 'ignore';
  sessionExpires?: number;
  minSessionExpires?: number;
  /** DNS for request targets (a fake SRV/A table in tests). */
  dns?: HopDns;
}

export interface AnsweredCall {
  call: IncomingCall;
  dialog?: Dialog;
  terminated?: TerminationCause;
  acked: boolean;
  ackSdp?: string;
  cancelled: boolean;
  reinvites: number;
}

export interface TestServer {
  ua: SipUserAgent;
  port: number;
  target: string;
  calls: AnsweredCall[];
  close(): Promise<void>;
}

export function testConfig(port: number, o: TestServerOptions = {}): TrunklineConfig {
  return {
    ...DEFAULTS,
    logLevel: 'silent',
    sip: {
      ...DEFAULTS.sip,
      listen: { host: '127.0.0.1', port },
      transports: ['udp', 'tcp'],
      t1: o.t1 ?? 100,
      t2: 4 * (o.t1 ?? 100),
      t4: 1000,
      unknownSource: o.unknownSource ?? 'reject',
      sessionExpires: o.sessionExpires ?? 1800,
      minSessionExpires: o.minSessionExpires ?? 90,
    },
    trunks: {
      inbound: o.inbound ?? [{ name: 'loopback', addresses: ['127.0.0.0/8'], allowRefer: true }],
      outbound: [],
    },
  };
}

export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const port = await freePort();
  const ua = new SipUserAgent({ config: testConfig(port, o), clock: systemClock, logger: silentLogger(), ...(o.dns !== undefined ? { dns: o.dns } : {}) });
  await ua.start();
  const calls: AnsweredCall[] = [];
  const local: LocalMediaOptions = { address: '127.0.0.1', port: 9, codecPreference: 'offerer' };
  const timers = new Set<NodeJS.Timeout>();
  ua.onIncomingCall((call) => {
    const record: AnsweredCall = { call, acked: false, cancelled: false, reinvites: 0 };
    calls.push(record);
    call.onCancel(() => {
      record.cancelled = true;
    });
    const service = call.request.uri.user ?? 'answer';
    const sdp = new LocalSdpSession({ address: '127.0.0.1' });
    if (service === 'ring') {
      call.ringing();
      return;
    }
    let localSdp: string;
    try {
      localSdp = call.remoteSdp === undefined ? sdp.offer(local) : sdp.answer(call.remoteSdp, local).sdp;
    } catch (err) {
      if (err instanceof SdpError) {
        call.reject(err.status, undefined, { Warning: err.warning });
        return;
      }
      throw err;
    }
    call.ringing();
    const answer = (): void => {
      const dialog = call.answer(localSdp);
      record.dialog = dialog;
      dialog.onReinvite((offer) => {
        record.reinvites++;
        return offer === undefined ? sdp.offer(local) : sdp.answer(offer, local).sdp;
      });
      dialog.onAck((ackSdp) => {
        record.acked = true;
        if (ackSdp !== undefined) {
          record.ackSdp = ackSdp;
          sdp.acceptAnswer(ackSdp);
        }
        if (service === 'hangup') {
          const t = setTimeout(() => {
            timers.delete(t);
            void dialog.bye();
          }, 300);
          timers.add(t);
        }
      });
      dialog.onTerminated((cause) => {
        record.terminated = cause;
      });
    };
    if (service === 'slow') {
      const t = setTimeout(() => {
        timers.delete(t);
        answer();
      }, 300);
      timers.add(t);
    } else {
      answer();
    }
  });
  return {
    ua,
    port: ua.port,
    target: `127.0.0.1:${ua.port}`,
    calls,
    close: async () => {
      for (const t of timers) clearTimeout(t);
      await ua.close();
    },
  };
}

/** Runs async jobs with at most `n` at a time (the machine has 2 cores shared with others). */
export function limiter(n: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(job: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await job();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}
