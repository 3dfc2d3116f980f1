/**
 * A bot written for Twilio Media Streams, unchanged, on a raw SIP call: TRUNKLINE_BOT=ws://… (the
 * fake Twilio-protocol bot), SIPp calls in and streams espeak-ng speech as PCMU. The bot gets
 * `connected`, `start` (customParameters from the SIP call: from, to, X- headers), the caller's
 * audio as `media`; its greeting (μ-law `media` + a `mark`) is played to SIPp and the mark comes
 * back once played; SIPp's BYE ends the stream with `stop`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTrunkline, type Trunkline } from '../../src/main.js';
import { buildConfig, silentLogger } from '../../src/shared/index.js';
import { FakeTwilioBot, decodePayload, waitFor } from '../fakes/twilio-media-streams-bot.js';
import { describeSipp, freePort, startSipp } from '../helpers/sipp.js';
import { randomRtpRange } from '../helpers/server.js';

const SCENARIO = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uac-speech-2s-to-media-stream-bot">
  <send retrans="500"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "sipp" <sip:+15551230000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      X-Order-Id: 4711
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=sendrecv

  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send><![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "sipp" <sip:+15551230000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <nop><action><exec rtp_stream="speech.ulaw,1,0"/></action></nop>
  <pause milliseconds="2500"/>
  <send retrans="500"><![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "sipp" <sip:+15551230000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <recv response="200" crlf="true"/>
</scenario>
`;

function tone(ms: number): Int16Array {
  const n = ms * 8;
  return Int16Array.from({ length: n }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));
}

describe('ws:// bridge: a Twilio Media Streams bot on a raw SIP call (SIPp)', () => {
  let dir: string;
  let bot: FakeTwilioBot;
  let server: Trunkline;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trunkline-bridge-e2e-'));
    execFileSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', join(dir, 'raw.wav'), 'Hello, is this the bot?']);
    execFileSync('sox', [join(dir, 'raw.wav'), '-r', '8000', '-c', '1', '-t', 'ul', join(dir, 'speech.ulaw')]);
    writeFileSync(join(dir, 'scenario.xml'), SCENARIO);
    bot = await FakeTwilioBot.start();
    const rtp = randomRtpRange(20);
    const config = buildConfig(
      { logLevel: 'silent', sip: { listen: '127.0.0.1:0' }, rtp: { ports: `${rtp.min}-${rtp.max}` }, http: { listen: '127.0.0.1:0' }, bot: bot.url },
      {},
    );
    server = await startTrunkline(config, { logger: silentLogger() });
  });

  afterAll(async () => {
    await server.stop();
    await bot.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams the call both ways, returns the mark after the greeting played, and stops on BYE', async () => {
    const sipp = startSipp({ scenario: join(dir, 'scenario.xml'), target: `127.0.0.1:${server.sipPort}`, service: 'bot', port: await freePort(), mediaPort: await freePort(), timeoutSec: 10, cwd: dir });
    await waitFor(() => bot.connections.length === 1 && bot.received('start').length === 1, 5000, 'start');
    // the bot greets: 1 s of audio, then a mark
    bot.sendAudio(tone(1000));
    bot.sendMark('greeting-played');
    const r = await sipp.done;
    expect(r.exitCode, describeSipp(r)).toBe(0);
    await waitFor(() => bot.received('stop').length === 1, 3000, 'stop');

    const start = bot.received('start')[0]!.start as { customParameters: Record<string, string>; mediaFormat: unknown; tracks: string[] };
    expect(start.mediaFormat).toEqual({ encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 });
    expect(start.tracks).toEqual(['inbound']);
    expect(start.customParameters.from).toContain('+15551230000');
    expect(start.customParameters['x-order-id']).toBe('4711');

    const media = bot.received('media');
    expect(media.length).toBeGreaterThan(50); // ≥ 1 s of caller audio, 20 ms each
    const loud = media.filter((m) => decodePayload((m.media as { payload: string }).payload).some((s) => Math.abs(s) > 2000));
    expect(loud.length).toBeGreaterThan(10); // the espeak speech came through
    const seqs = bot.last.messages.filter((m) => m.sequenceNumber !== undefined).map((m) => Number(m.sequenceNumber));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));

    const marks = bot.received('mark');
    expect(marks.map((m) => (m.mark as { name: string }).name)).toEqual(['greeting-played']);
    // echoed only after the greeting had been played: after ≥ 50 caller frames went by
    const markIndex = bot.last.messages.indexOf(marks[0]!);
    const mediaBefore = bot.last.messages.slice(0, markIndex).filter((m) => m.event === 'media').length;
    expect(mediaBefore).toBeGreaterThanOrEqual(40);
  }, 20_000);
});
