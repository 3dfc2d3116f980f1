import type { Call } from '../call/index.js';
import type { Clock } from '../shared/index.js';
import type { CallView } from './schemas.js';

/** Clock ms since the call started, rounded; null when the step has not happened. */
function since(start: number, at: number | undefined): number | null {
  return at === undefined ? null : Math.round(at - start);
}

/**
 * The API's picture of a call (GET /v1/calls/:id): state, cause and outcome, the INVITE's SIP
 * codes, timings relative to the start (monotonic clock) with the start as wall-clock time, and
 * media statistics (live, or the final figures once ended).
 */
export function callView(call: Call, clock: Clock, wallNow: () => number): CallView {
  const info = call.info;
  const s = call.mediaStats;
  const startedWall = wallNow() - (clock.now() - info.startedAt);
  const end = info.endedAt ?? clock.now();
  return {
    id: info.callId,
    direction: info.direction,
    state: info.state,
    outcome: info.outcome ?? null,
    cause: info.cause ?? null,
    bot: info.bot,
    trunk: info.trunk,
    from: info.from,
    to: info.to,
    sip: { callId: info.sipCallId ?? null, status: info.sipStatus ?? null, codes: [...info.sipCodes] },
    timings: {
      startedAt: new Date(startedWall).toISOString(),
      ringingMs: since(info.startedAt, info.ringingAt),
      answeredMs: since(info.startedAt, info.answeredAt),
      endedMs: since(info.startedAt, info.endedAt),
      durationMs: info.answeredAt === undefined ? null : Math.round(end - info.answeredAt),
    },
    media: {
      codec: info.media.codec ?? null,
      localPort: info.media.localPort ?? null,
      remote: info.media.remote ?? null,
      stats:
        s === undefined
          ? null
          : {
              packetsSent: s.packetsSent,
              packetsReceived: s.packetsReceived,
              packetsLost: s.packetsLost,
              fractionLost: s.fractionLost,
              jitterMs: s.jitterMs,
              rttMs: s.rttMs,
              jitterBufferDelayMs: s.jitterBuffer.currentDelayMs,
              concealedFrames: s.jitterBuffer.concealedFrames,
              dtmfSent: s.dtmfSent,
              dtmfReceived: s.dtmfReceived,
            },
    },
    transfer:
      info.transfer === undefined
        ? null
        : { target: info.transfer.target, mode: info.transfer.mode, stage: info.transfer.stage, status: info.transfer.status ?? null, consultCallId: info.transfer.consultCallId ?? null },
    metadata: { ...info.metadata },
  };
}
