import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Call, CallManager } from '../call/index.js';

/** Pacer lateness as src/rtp's Pacer.lateness() reports it; main.ts passes a reader. */
export interface LatenessReader {
  (): { count: number; p50Ms: number; p99Ms: number; maxMs: number };
}

/** SIP requests turned away before any transaction since start (the UA's `refused`). */
export interface RefusedReader {
  (): { rateLimited: number; malformed: number; scanner: number; unknownSource: number; tooManyVias: number };
}

type MediaTotals = { received: number; sent: number; lost: number; concealed: number; late: number };

function mediaTotals(call: Call): MediaTotals {
  const s = call.mediaStats;
  if (s === undefined) return { received: 0, sent: 0, lost: 0, concealed: 0, late: 0 };
  return { received: s.packetsReceived, sent: s.packetsSent, lost: s.packetsLost, concealed: s.jitterBuffer.concealedFrames, late: s.jitterBuffer.latePackets };
}

const MS_BUCKETS = [5, 10, 20, 40, 60, 80, 100, 150, 200, 300, 500, 1000];
const TURN_BUCKETS = [100, 200, 300, 400, 500, 600, 800, 1000, 1500, 2000, 3000, 5000];

/**
 * The Prometheus registry behind /metrics. Per call it listens to the call's events (ended:
 * outcome, cause, SIP final status, media totals; turn-metrics: turn latency) and reads live
 * calls' media statistics at scrape time, so counters cover both finished and running calls.
 * One registry per server (never the global one), so tests and several servers do not share it.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  private readonly ended: MediaTotals = { received: 0, sent: 0, lost: 0, concealed: 0, late: 0 };
  private readonly callsTotal: Counter<'direction' | 'outcome'>;
  private readonly causes: Counter<'cause'>;
  private readonly sipFinal: Counter<'direction' | 'code'>;
  private readonly jitter: Histogram;
  private readonly jbDelay: Histogram;
  private readonly turn: Histogram;
  readonly webhooks: Counter<'result'>;
  readonly httpErrors: Counter<'code'>;

  constructor(calls: CallManager, lateness: LatenessReader | undefined, refused?: RefusedReader) {
    const registers = [this.registry];
    const totals = (): MediaTotals => {
      const t = { ...this.ended };
      for (const c of calls.list()) {
        const m = mediaTotals(c);
        t.received += m.received;
        t.sent += m.sent;
        t.lost += m.lost;
        t.concealed += m.concealed;
        t.late += m.late;
      }
      return t;
    };
    // Event-loop delay (nodejs_eventloop_lag_*), heap, GC and the rest of prom-client's defaults.
    collectDefaultMetrics({ register: this.registry });

    new Gauge({
      name: 'trunkline_calls_active',
      help: 'Calls in progress (dialing, ringing or answered)',
      registers,
      collect() {
        this.set(calls.active);
      },
    });
    new Gauge({
      name: 'trunkline_calls_draining',
      help: '1 while the server drains for shutdown',
      registers,
      collect() {
        this.set(calls.isDraining ? 1 : 0);
      },
    });
    this.callsTotal = new Counter({ name: 'trunkline_calls_total', help: 'Ended calls by direction and outcome', labelNames: ['direction', 'outcome'], registers });
    this.causes = new Counter({ name: 'trunkline_call_end_causes_total', help: 'Ended calls by cause', labelNames: ['cause'], registers });
    this.sipFinal = new Counter({ name: 'trunkline_sip_invite_final_responses_total', help: 'Final responses to call INVITEs (sent for inbound, received for dial-out) by code', labelNames: ['direction', 'code'], registers });
    const counterOf = (name: string, help: string, pick: (t: MediaTotals) => number): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(pick(totals()));
        },
      });
    };
    counterOf('trunkline_rtp_packets_received_total', 'RTP packets received, all calls', (t) => t.received);
    counterOf('trunkline_rtp_packets_sent_total', 'RTP packets sent, all calls', (t) => t.sent);
    counterOf('trunkline_rtp_packets_lost_total', 'RTP packets lost (RFC 3550 A.3 cumulative), all calls', (t) => t.lost);
    counterOf('trunkline_jitter_buffer_concealed_frames_total', 'Frames the jitter buffer concealed (lost or late)', (t) => t.concealed);
    counterOf('trunkline_jitter_buffer_late_packets_total', 'Packets that arrived after their playout time', (t) => t.late);
    this.jitter = new Histogram({ name: 'trunkline_rtp_jitter_ms', help: 'RFC 3550 interarrival jitter at the end of each call, ms', buckets: MS_BUCKETS, registers });
    this.jbDelay = new Histogram({ name: 'trunkline_jitter_buffer_delay_ms', help: 'Jitter-buffer target playout delay at the end of each call, ms', buckets: MS_BUCKETS, registers });
    new Gauge({
      name: 'trunkline_rtp_jitter_max_ms',
      help: 'Largest interarrival jitter among live calls, ms',
      registers,
      collect() {
        let max = 0;
        for (const c of calls.list()) max = Math.max(max, c.mediaStats?.jitterMs ?? 0);
        this.set(max);
      },
    });
    new Gauge({
      name: 'trunkline_pacer_lateness_ms',
      help: 'How late the 20 ms media pacer ran its ticks, ms',
      labelNames: ['quantile'],
      registers,
      collect() {
        if (lateness === undefined) return;
        const l = lateness();
        this.set({ quantile: '0.5' }, l.p50Ms);
        this.set({ quantile: '0.99' }, l.p99Ms);
        this.set({ quantile: '1' }, l.maxMs);
      },
    });
    if (refused !== undefined) {
      new Counter({
        name: 'trunkline_sip_requests_refused_total',
        help: 'SIP requests turned away before any transaction: rate-limited (over the per-source limit, dropped unread), malformed (answered 4xx when possible), scanner (dropped), unknown-source (403 or dropped), too-many-vias (483)',
        labelNames: ['reason'],
        registers,
        collect() {
          const r = refused();
          this.reset();
          this.inc({ reason: 'rate-limited' }, r.rateLimited);
          this.inc({ reason: 'malformed' }, r.malformed);
          this.inc({ reason: 'scanner' }, r.scanner);
          this.inc({ reason: 'unknown-source' }, r.unknownSource);
          this.inc({ reason: 'too-many-vias' }, r.tooManyVias);
        },
      });
    }
    this.turn = new Histogram({ name: 'trunkline_turn_latency_ms', help: 'Caller stopped speaking → first bot audio out, ms', buckets: TURN_BUCKETS, registers });
    this.webhooks = new Counter({ name: 'trunkline_webhook_deliveries_total', help: 'Webhook events delivered or given up on', labelNames: ['result'], registers });
    this.httpErrors = new Counter({ name: 'trunkline_api_errors_total', help: 'API error responses by catalogue code', labelNames: ['code'], registers });

    calls.onCall((call) => this.track(call));
  }

  private track(call: Call): void {
    call.events.on('turn-metrics', (e) => this.turn.observe(e.metrics.totalMs));
    call.events.on('ended', (e) => {
      this.callsTotal.inc({ direction: call.direction, outcome: e.outcome });
      this.causes.inc({ cause: e.cause });
      if (e.sipStatus !== undefined) this.sipFinal.inc({ direction: call.direction, code: String(e.sipStatus) });
      const s = call.mediaStats;
      if (s !== undefined) {
        const m = mediaTotals(call);
        this.ended.received += m.received;
        this.ended.sent += m.sent;
        this.ended.lost += m.lost;
        this.ended.concealed += m.concealed;
        this.ended.late += m.late;
        if (s.packetsReceived > 0) {
          this.jitter.observe(s.jitterMs);
          this.jbDelay.observe(s.jitterBuffer.targetDelayMs);
        }
      }
    });
  }
}
