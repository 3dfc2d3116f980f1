import { Type, type Static } from '@fastify/type-provider-typebox';

/**
 * The API's request and response schemas (TypeBox → JSON Schema): fastify validates requests
 * against them, serialises responses through them, and @fastify/swagger builds /docs/json from them.
 */

export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String({ description: 'Stable code from the error catalogue (docs/errors.md)' }), message: Type.String() }) },
  { description: 'Every error: `{ error: { code, message } }`' },
);

/** E.164 (+ and 2–20 digits, or bare digits) or a sip:/sips: URI. */
const NUMBER_OR_URI = '^(\\+?[0-9]{2,20}|sips?:[^\\s<>"]+)$';

export const DialBody = Type.Object(
  {
    to: Type.String({ pattern: NUMBER_OR_URI, maxLength: 256, description: 'E.164 number (+15551230000) or sip: URI' }),
    from: Type.Optional(Type.String({ pattern: NUMBER_OR_URI, maxLength: 256, description: "Caller id; default the trunk's fromNumber" })),
    trunk: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Outbound trunk name; default the first configured' })),
    bot: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Bot to run on the call; default the configured bot' })),
    metadata: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 1024 }), { maxProperties: 32, description: 'Handed to the bot' })),
    headers: Type.Optional(
      // Written as JSON Schema: the header-name rule must be a patternProperties key with nothing else allowed.
      Type.Unsafe<Record<string, string>>({
        type: 'object',
        patternProperties: { '^[Xx]-[A-Za-z0-9-]{1,64}$': { type: 'string', maxLength: 1024, pattern: '^[^\\r\\n]*$' } },
        additionalProperties: false,
        maxProperties: 16,
        description: 'Extra SIP headers for the INVITE: X- headers only',
      }),
    ),
    ringTimeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 300, description: 'Seconds of ringing before CANCEL (outcome no-answer); default 30' })),
    maxDuration: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400, description: 'Seconds the answered call may last' })),
    webhook: Type.Optional(Type.String({ pattern: '^https?://\\S+$', maxLength: 2048, description: 'Where this call’s events are POSTed (signed)' })),
    transcripts: Type.Optional(Type.Boolean({ description: 'Also send call.transcript events to the webhook' })),
  },
  { additionalProperties: false },
);
export type DialBody = Static<typeof DialBody>;

export const CallIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) });
export type CallIdParams = Static<typeof CallIdParams>;

export const DtmfBody = Type.Object(
  {
    digits: Type.String({ pattern: '^[0-9A-Da-d*#]{1,32}$', description: 'RFC 4733 events to send: 0-9 * # A-D' }),
    durationMs: Type.Optional(Type.Integer({ minimum: 40, maximum: 2000, description: 'Per digit; default 100' })),
  },
  { additionalProperties: false },
);
export type DtmfBody = Static<typeof DtmfBody>;

export const TransferBody = Type.Object(
  {
    target: Type.String({ pattern: '^((sips?|tel):\\S+|\\+?[0-9*#]{1,32})$', maxLength: 256, description: 'sip:/tel: URI or number' }),
    mode: Type.Optional(
      Type.Union([Type.Literal('blind'), Type.Literal('attended'), Type.Literal('bridge')], {
        description:
          'blind (default): REFER (RFC 3515). attended: consult call to the target, then REFER with Replaces (RFC 3891), bridging when the carrier refuses REFER. bridge: consult call, then Trunkline relays media between the two legs.',
      }),
    ),
    trunk: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'attended/bridge: outbound trunk for the consult call; default the first configured' })),
    summary: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, pattern: '\\S', description: 'attended/bridge: spoken (TTS) to the person who answers the consult call before the hand-over' })),
  },
  { additionalProperties: false },
);
export type TransferBody = Static<typeof TransferBody>;

const OptNum = Type.Union([Type.Number(), Type.Null()]);
const OptStr = Type.Union([Type.String(), Type.Null()]);

export const CallView = Type.Object(
  {
    id: Type.String(),
    direction: Type.Union([Type.Literal('inbound'), Type.Literal('outbound')]),
    state: Type.Union([Type.Literal('dialing'), Type.Literal('ringing'), Type.Literal('answered'), Type.Literal('ended')]),
    outcome: OptStr,
    cause: OptStr,
    bot: Type.String(),
    trunk: Type.String(),
    from: Type.String(),
    to: Type.String(),
    sip: Type.Object({ callId: OptStr, status: OptNum, codes: Type.Array(Type.Integer()) }),
    timings: Type.Object({
      startedAt: Type.String({ description: 'ISO 8601' }),
      ringingMs: OptNum,
      answeredMs: OptNum,
      endedMs: OptNum,
      durationMs: OptNum,
    }),
    media: Type.Object({
      codec: OptStr,
      localPort: OptNum,
      remote: OptStr,
      stats: Type.Union([
        Type.Object({
          packetsSent: Type.Number(),
          packetsReceived: Type.Number(),
          packetsLost: Type.Number(),
          fractionLost: Type.Number(),
          jitterMs: Type.Number(),
          rttMs: Type.Number(),
          jitterBufferDelayMs: Type.Number(),
          concealedFrames: Type.Number(),
          dtmfSent: Type.Number(),
          dtmfReceived: Type.Number(),
        }),
        Type.Null(),
      ]),
    }),
    transfer: Type.Union([
      Type.Object({
        target: Type.String(),
        mode: Type.Union([Type.Literal('blind'), Type.Literal('attended'), Type.Literal('bridge')]),
        stage: Type.String({ description: 'requested, progress, consulting, fallback, bridged, succeeded or failed' }),
        status: OptNum,
        consultCallId: OptStr,
      }),
      Type.Null(),
    ]),
    metadata: Type.Record(Type.String(), Type.String()),
  },
  { description: 'A call, live or recently ended' },
);
export type CallView = Static<typeof CallView>;

export const CallList = Type.Object({ calls: Type.Array(CallView) });

export const DialCreated = Type.Object({ id: Type.String(), state: Type.Literal('dialing') });
export const TransferAccepted = Type.Object({
  id: Type.String(),
  transfer: Type.Object({ target: Type.String(), mode: Type.String(), stage: Type.String(), consultCallId: OptStr }),
});
export const Health = Type.Object({ status: Type.String() });
