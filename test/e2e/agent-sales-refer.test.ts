/**
 * The offline agent conversation over a real SIP call: SIPp calls Trunkline (TRUNKLINE_BOT=agent
 * with pocketsphinx keywords, an OpenAI-compatible LLM fake that calls transfer_call on "sales",
 * and flite), streams espeak-ng saying "sales" as μ-law RTP, and expects the REFER to the
 * configured sales target (RFC 3515): 202, NOTIFY 100 then 200, then Trunkline's BYE.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTrunkline, type Trunkline } from '../../src/main.js';
import { buildConfig, silentLogger } from '../../src/shared/index.js';
import { FakeOpenAiServer } from '../fakes/fake-openai-server.js';
import { describeSipp, freePort, startSipp } from '../helpers/sipp.js';
import { randomRtpRange } from '../helpers/server.js';

const SALES = 'sip:sales@pbx.example.com';

function scenario(): string {
  return `<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="uac-says-sales-expect-refer-to-sales">
  <send retrans="500"><![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
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
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Content-Length: 0

  ]]></send>
  <nop><action><exec rtp_stream="sales.ulaw,1,0"/></action></nop>
  <recv request="REFER" timeout="15000">
    <action>
      <ereg regexp="&lt;sip:sales@pbx\\.example\\.com&gt;" search_in="hdr" header="Refer-To:" check_it="true" assign_to="referto"/>
    </action>
  </recv>
  <send><![CDATA[
      SIP/2.0 202 Accepted
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

  ]]></send>
  <send retrans="500"><![CDATA[
      NOTIFY [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      From: "sipp" <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 NOTIFY
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Max-Forwards: 70
      Event: refer
      Subscription-State: terminated;reason=noresource
      Content-Type: message/sipfrag;version=2.0
      Content-Length: [len]

      SIP/2.0 200 OK
  ]]></send>
  <recv response="200"/>
  <recv request="BYE" timeout="5000"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>
      Content-Length: 0

  ]]></send>
  <Reference variables="referto"/>
</scenario>
`;
}

describe('agent bot over SIP: SIPp says "sales", Trunkline REFERs to the sales target', () => {
  let dir: string;
  let llm: FakeOpenAiServer;
  let server: Trunkline;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trunkline-agent-e2e-'));
    // 0.5 s of silence, "sales", 1.5 s of silence (the VAD must hear the end of the turn); μ-law 0xFF is silence
    execFileSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', join(dir, 'raw.wav'), 'sales']);
    execFileSync('sox', [join(dir, 'raw.wav'), '-r', '8000', '-c', '1', '-t', 'ul', join(dir, 'word.ulaw')]);
    const word = readFileSync(join(dir, 'word.ulaw'));
    writeFileSync(join(dir, 'sales.ulaw'), Buffer.concat([Buffer.alloc(4000, 0xff), word, Buffer.alloc(12_000, 0xff)]));
    writeFileSync(join(dir, 'scenario.xml'), scenario());

    llm = await FakeOpenAiServer.start();
    llm.chatResponder = (body) => {
      const last = body.messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
      if (/\bsales\b/.test(last)) return { steps: [{ text: 'Connecting you to sales.' }, { tool: { name: 'transfer_call', arguments: '{"destination":"sales"}' } }] };
      return { steps: [{ text: 'Which department?' }] };
    };
    const rtp = randomRtpRange(20);
    const config = buildConfig(
      {
        logLevel: 'silent',
        sip: { listen: '127.0.0.1:0' },
        rtp: { ports: `${rtp.min}-${rtp.max}` },
        http: { listen: '127.0.0.1:0' },
        bot: 'agent',
        agent: {
          stt: { provider: 'pocketsphinx', keywords: ['sales', 'support', 'billing'] },
          llm: { baseUrl: llm.baseUrl, model: 'fake-router' },
          tts: { provider: 'flite' },
          transferTargets: { sales: SALES, support: 'sip:support@pbx.example.com' },
        },
      },
      {},
    );
    server = await startTrunkline(config, { logger: silentLogger(), warmTimeoutMs: 5000 });
  });

  afterAll(async () => {
    await server.stop();
    await llm.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uac-says-sales-expect-refer-to-sales: REFER to the configured target, then our BYE', async () => {
    const sipp = startSipp({
      scenario: join(dir, 'scenario.xml'),
      target: `127.0.0.1:${server.sipPort}`,
      service: 'bot',
      port: await freePort(),
      mediaPort: await freePort(),
      timeoutSec: 18,
      deadlineMs: 20_000,
      cwd: dir,
    });
    const r = await sipp.done;
    expect(r.exitCode, describeSipp(r)).toBe(0);
    expect(r.stats?.successful, describeSipp(r)).toBe(1);
    const chat = llm.chats().at(-1)?.json as { messages: { role: string; content: string }[] } | undefined;
    expect(chat?.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['sales']);
  }, 25_000);
});
