/**
 * The caller side of the call benchmark: a small SIP UAC (RFC 3261 INVITE / ACK / BYE over UDP,
 * offer in the INVITE) and an RTP peer, run in a worker thread so its work does not land on the
 * server's event loop. All calls share one RTP socket: each call's SDP names it, and the server's
 * packets are told apart by their source port (one server port pair per call).
 *
 * Commands (postMessage): setup-latency, echo-latency, load-start, load-stop, close. Every reply
 * is `{ id, ...result }`.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { linearToUlaw } from '../src/codec/index.js';

const SILENCE = 0xff; // μ-law 0

interface ClientCall {
  readonly callId: string;
  readonly fromTag: string;
  readonly user: string;
  toTag: string;
  remoteTarget: string;
  serverRtpPort: number;
  inviteAt: number;
  answeredAt: number;
  firstAudioAt: number;
  state: 'inviting' | 'up' | 'ending' | 'ended' | 'failed';
  // Media
  seq: number;
  timestamp: number;
  readonly ssrc: number;
  readonly packet: Buffer;
  received: number;
  sent: number;
  onAnswer: ((ok: boolean) => void) | undefined;
  onEnded: (() => void) | undefined;
  onFirstAudio: (() => void) | undefined;
}

export interface LatencyResult {
  inviteTo200Ms: number[];
  answerToFirstAudioMs: number[];
  failed: number;
}

export interface EchoLatencyResult {
  addedLatencyMs: number[];
  bursts: number;
  /** Bursts that did not come back within 1 s. */
  lost: number;
}

export interface LoadStartResult {
  established: number;
  failed: number;
  setupMs: number;
}

export interface LoadStopResult {
  sent: number;
  received: number;
  /** Calls that got less than 90 % of what the server should have sent in the window. */
  starvedCalls: number;
  clientLateTicks: number;
}

/** A tone, μ-law encoded by a 256-entry search (client side only: speed does not matter here). */
function toneFrame(): Buffer {
  const out = Buffer.alloc(160);
  for (let i = 0; i < 160; i++) {
    const s = Math.round(6000 * Math.sin((2 * Math.PI * 400 * i) / 8000));
    out[i] = linearToUlaw(s);
  }
  return out;
}


export class BenchSipClient {
  private readonly sip: Socket = createSocket('udp4');
  private rtp!: Socket;
  private rtcp!: Socket;
  private readonly calls = new Map<string, ClientCall>();
  private readonly byServerPort = new Map<number, ClientCall>();
  private sipPort = 0;
  private rtpPort = 0;
  private seq = 0;
  private readonly tone = toneFrame();
  private streaming: ClientCall[] = [];
  private tickTimer: NodeJS.Timeout | undefined;
  private lateTicks = 0;
  private tickGeneration = 0;
  /** Echo latency probe: per burst, when it was sent; the receiver fills in the arrival. */
  private probe: { call: ClientCall; sentAt: number[]; arrivals: number[]; waiting: number } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  async start(): Promise<void> {
    await new Promise<void>((res) => this.sip.bind(0, '127.0.0.1', () => res()));
    // RTP on an even port with RTCP on the next one (RFC 3550 §11), both ours.
    for (let attempt = 0; ; attempt++) {
      const rtp = createSocket('udp4');
      await new Promise<void>((res) => rtp.bind(0, '127.0.0.1', () => res()));
      const port = rtp.address().port;
      if (port % 2 === 0 && port < 65535) {
        const rtcp = createSocket('udp4');
        const ok = await new Promise<boolean>((res) => {
          rtcp.once('error', () => res(false));
          rtcp.bind(port + 1, '127.0.0.1', () => res(true));
        });
        if (ok) {
          this.rtp = rtp;
          this.rtcp = rtcp;
          this.rtpPort = port;
          break;
        }
        rtcp.close();
      }
      rtp.close();
      if (attempt > 50) throw new Error('no even RTP port pair free');
    }
    this.sipPort = this.sip.address().port;
    this.sip.on('message', (msg, rinfo) => this.onSip(msg.toString('latin1'), rinfo));
    this.rtp.on('message', (msg, rinfo) => this.onRtp(msg, rinfo));
    this.rtcp.on('message', () => undefined);
    this.rtp.setRecvBufferSize(8 * 1024 * 1024);
    this.rtp.setSendBufferSize(8 * 1024 * 1024);
  }

  close(): void {
    clearTimeout(this.tickTimer);
    this.sip.close();
    this.rtp.close();
    this.rtcp.close();
  }

  // --- SIP -----------------------------------------------------------------------------------

  private branch(): string {
    return `z9hG4bK${randomBytes(8).toString('hex')}`;
  }

  private send(text: string): void {
    this.sip.send(Buffer.from(text, 'latin1'), this.port, this.host);
  }

  /** Places a call; resolves when it is answered (true) or refused (false). */
  invite(user: string): { call: ClientCall; answered: Promise<boolean> } {
    const callId = `${randomBytes(8).toString('hex')}@bench`;
    const call: ClientCall = {
      callId,
      fromTag: randomBytes(4).toString('hex'),
      user,
      toTag: '',
      remoteTarget: `sip:${user}@${this.host}:${this.port}`,
      serverRtpPort: 0,
      inviteAt: 0,
      answeredAt: 0,
      firstAudioAt: 0,
      state: 'inviting',
      seq: Math.floor(Math.random() * 65536),
      timestamp: Math.floor(Math.random() * 2 ** 31),
      ssrc: Math.floor(Math.random() * 2 ** 32) >>> 0,
      packet: Buffer.alloc(172),
      received: 0,
      sent: 0,
      onAnswer: undefined,
      onEnded: undefined,
      onFirstAudio: undefined,
    };
    this.calls.set(callId, call);
    const sdp = [
      'v=0',
      `o=bench ${++this.seq} 1 IN IP4 127.0.0.1`,
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${this.rtpPort} RTP/AVP 0 101`,
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=fmtp:101 0-15',
      'a=ptime:20',
      'a=sendrecv',
      '',
    ].join('\r\n');
    const answered = new Promise<boolean>((res) => (call.onAnswer = res));
    call.inviteAt = performance.now();
    this.send(
      [
        `INVITE sip:${user}@${this.host}:${this.port} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${this.sipPort};branch=${this.branch()};rport`,
        'Max-Forwards: 70',
        `From: <sip:bench@127.0.0.1:${this.sipPort}>;tag=${call.fromTag}`,
        `To: <sip:${user}@${this.host}:${this.port}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 INVITE',
        `Contact: <sip:bench@127.0.0.1:${this.sipPort}>`,
        'Content-Type: application/sdp',
        `Content-Length: ${Buffer.byteLength(sdp)}`,
        '',
        sdp,
      ].join('\r\n'),
    );
    return { call, answered };
  }

  private inDialog(call: ClientCall, method: 'ACK' | 'BYE', cseq: number): string {
    return [
      `${method} ${call.remoteTarget} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${this.sipPort};branch=${this.branch()};rport`,
      'Max-Forwards: 70',
      `From: <sip:bench@127.0.0.1:${this.sipPort}>;tag=${call.fromTag}`,
      `To: <sip:${call.user}@${this.host}:${this.port}>;tag=${call.toTag}`,
      `Call-ID: ${call.callId}`,
      `CSeq: ${cseq} ${method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
  }

  hangup(call: ClientCall): Promise<void> {
    if (call.state !== 'up') return Promise.resolve();
    call.state = 'ending';
    const done = new Promise<void>((res) => (call.onEnded = res));
    const bye = this.inDialog(call, 'BYE', 2);
    this.send(bye);
    // RFC 3261 §17.1.2.2 Timer E, simplified: resend until the 200 comes.
    const retry = setInterval(() => (call.state === 'ending' ? this.send(bye) : clearInterval(retry)), 500);
    return done.finally(() => clearInterval(retry));
  }

  private onSip(text: string, rinfo: RemoteInfo): void {
    const headerEnd = text.indexOf('\r\n\r\n');
    const head = headerEnd < 0 ? text : text.slice(0, headerEnd);
    const body = headerEnd < 0 ? '' : text.slice(headerEnd + 4);
    const lines = head.split('\r\n');
    const first = lines[0] ?? '';
    const header = (name: string): string | undefined => {
      const re = new RegExp(`^(?:${name}):\\s*(.*)$`, 'i');
      for (const l of lines) {
        const m = re.exec(l);
        if (m !== null) return m[1];
      }
      return undefined;
    };
    const callId = header('Call-ID|i') ?? '';
    const call = this.calls.get(callId);
    if (!first.startsWith('SIP/2.0')) {
      // A request from the server (a BYE from the bot, OPTIONS): answer 200 and end the call.
      const vias = lines.filter((l) => /^(via|v):/i.test(l));
      this.sip.send(
        Buffer.from(
          ['SIP/2.0 200 OK', ...vias, `From: ${header('From|f') ?? ''}`, `To: ${header('To|t') ?? ''}`, `Call-ID: ${callId}`, `CSeq: ${header('CSeq') ?? ''}`, 'Content-Length: 0', '', ''].join('\r\n'),
          'latin1',
        ),
        rinfo.port,
        rinfo.address,
      );
      if (call !== undefined && first.startsWith('BYE')) this.finish(call, 'ended');
      return;
    }
    if (call === undefined) return;
    const status = Number(first.split(' ')[1]);
    const method = (header('CSeq') ?? '').split(/\s+/)[1];
    if (method === 'INVITE') {
      if (status < 200) return;
      const toTag = /;\s*tag=([^;\s]+)/i.exec(header('To|t') ?? '')?.[1] ?? '';
      call.toTag = toTag;
      if (status >= 300) {
        // RFC 3261 §17.1.1.3: ACK a non-2xx in the INVITE transaction (same branch): the server
        // absorbs retransmissions either way; a bench does not need to be exact here.
        this.finish(call, 'failed');
        return;
      }
      const contact = /<([^>]+)>/.exec(header('Contact|m') ?? '')?.[1];
      if (contact !== undefined) call.remoteTarget = contact;
      // RFC 3261 §13.2.2.4: ACK every 2xx, retransmissions included.
      this.send(this.inDialog(call, 'ACK', 1));
      if (call.state !== 'inviting') return;
      call.answeredAt = performance.now();
      const m = /^m=audio (\d+)/m.exec(body);
      call.serverRtpPort = m?.[1] !== undefined ? Number(m[1]) : 0;
      this.byServerPort.set(call.serverRtpPort, call);
      call.state = 'up';
      call.onAnswer?.(true);
    } else if (method === 'BYE' && status >= 200) {
      this.finish(call, 'ended');
    }
  }

  private finish(call: ClientCall, state: 'ended' | 'failed'): void {
    const wasInviting = call.state === 'inviting';
    call.state = state;
    this.calls.delete(call.callId);
    if (this.byServerPort.get(call.serverRtpPort) === call) this.byServerPort.delete(call.serverRtpPort);
    if (wasInviting) call.onAnswer?.(false);
    call.onEnded?.();
  }

  // --- RTP -----------------------------------------------------------------------------------

  private onRtp(msg: Buffer, rinfo: RemoteInfo): void {
    const call = this.byServerPort.get(rinfo.port);
    if (call === undefined || msg.length < 12) return;
    call.received++;
    if (call.firstAudioAt === 0) {
      call.firstAudioAt = performance.now();
      call.onFirstAudio?.();
    }
    const probe = this.probe;
    if (probe !== undefined && probe.call === call && probe.waiting < probe.sentAt.length) {
      for (let i = 12; i < msg.length; i++) {
        const b = msg[i]!;
        if (b !== SILENCE && b !== 0x7f) {
          probe.arrivals[probe.waiting] = performance.now();
          probe.waiting++;
          break;
        }
      }
    }
  }

  private sendFrame(call: ClientCall, payload: Buffer | null): void {
    const p = call.packet;
    p[0] = 0x80;
    p[1] = call.sent === 0 ? 0x80 : 0x00;
    p.writeUInt16BE(call.seq & 0xffff, 2);
    p.writeUInt32BE(call.timestamp >>> 0, 4);
    p.writeUInt32BE(call.ssrc, 8);
    if (payload === null) p.fill(SILENCE, 12);
    else payload.copy(p, 12);
    this.rtp.send(p, call.serverRtpPort, this.host);
    call.seq++;
    call.timestamp += 160;
    call.sent++;
  }

  /** 20 ms ticks on absolute deadlines; every streaming call sends one packet per tick. */
  private startTicks(onTick: (tick: number) => void): void {
    const start = performance.now();
    const generation = ++this.tickGeneration;
    let tick = 0;
    const run = (): void => {
      const now = performance.now();
      while (start + tick * 20 <= now && generation === this.tickGeneration) {
        if (now - (start + tick * 20) > 10) this.lateTicks++;
        onTick(tick++);
      }
      // stopTicks() (possibly from inside onTick) ends this loop for good.
      if (generation === this.tickGeneration) this.tickTimer = setTimeout(run, Math.max(0, start + tick * 20 - performance.now()));
    };
    run();
  }

  private stopTicks(): void {
    this.tickGeneration++;
    clearTimeout(this.tickTimer);
    this.tickTimer = undefined;
  }

  // --- Commands ------------------------------------------------------------------------------

  /** Sequential calls: INVITE → 200 and 200 → first RTP packet from the bot. */
  async setupLatency(user: string, count: number): Promise<LatencyResult> {
    const result: LatencyResult = { inviteTo200Ms: [], answerToFirstAudioMs: [], failed: 0 };
    for (let i = 0; i < count; i++) {
      const { call, answered } = this.invite(user);
      const firstAudio = new Promise<void>((res) => (call.onFirstAudio = res));
      if (!(await answered)) {
        result.failed++;
        continue;
      }
      result.inviteTo200Ms.push(call.answeredAt - call.inviteAt);
      const got = await Promise.race([firstAudio.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
      if (got) result.answerToFirstAudioMs.push(call.firstAudioAt - call.answeredAt);
      else result.failed++;
      await this.hangup(call);
    }
    return result;
  }

  /** One echo call on a clean stream: silence with a tone burst every 500 ms; wire-to-wire delay of each burst. */
  async echoLatency(seconds: number): Promise<EchoLatencyResult> {
    const { call, answered } = this.invite('echo');
    if (!(await answered)) throw new Error('echo call refused');
    const probe = { call, sentAt: [] as number[], arrivals: [] as number[], waiting: 0 };
    this.probe = probe;
    const ticks = Math.round((seconds * 1000) / 20);
    let lost = 0;
    await new Promise<void>((done) => {
      this.startTicks((tick) => {
        // Bursts only once the one before came back (or was given up after 1 s), so each is
        // matched to its own echo.
        const last = probe.sentAt.length - 1;
        if (probe.waiting === last && performance.now() - probe.sentAt[last]! > 1000) {
          probe.arrivals[probe.waiting] = NaN;
          probe.waiting++;
          lost++;
        }
        const burst = tick % 25 === 10 && probe.waiting === probe.sentAt.length;
        this.sendFrame(call, burst ? this.tone : null);
        if (burst) probe.sentAt.push(performance.now());
        if (tick >= ticks) {
          this.stopTicks();
          done();
        }
      });
    });
    await new Promise((r) => setTimeout(r, 300));
    this.probe = undefined;
    await this.hangup(call);
    const added: number[] = [];
    for (let i = 0; i < probe.waiting; i++) if (!Number.isNaN(probe.arrivals[i])) added.push(probe.arrivals[i]! - probe.sentAt[i]!);
    return { addedLatencyMs: added, bursts: probe.sentAt.length, lost };
  }

  /** Sets up `count` echo calls at `cps` and starts streaming tone on all of them. */
  async loadStart(count: number, cps: number): Promise<LoadStartResult> {
    const started = performance.now();
    const pending: Promise<boolean>[] = [];
    const calls: ClientCall[] = [];
    for (let i = 0; i < count; i++) {
      const { call, answered } = this.invite('echo');
      calls.push(call);
      pending.push(answered);
      if ((i + 1) % Math.max(1, Math.round(cps / 50)) === 0) await new Promise((r) => setTimeout(r, 20));
    }
    const results = await Promise.all(pending.map((p) => Promise.race([p, new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))])));
    this.streaming = calls.filter((c, i) => results[i] === true && c.state === 'up');
    for (const c of this.streaming) {
      c.received = 0;
      c.sent = 0;
    }
    this.lateTicks = 0;
    this.startTicks(() => {
      for (const c of this.streaming) this.sendFrame(c, this.tone);
    });
    return { established: this.streaming.length, failed: count - this.streaming.length, setupMs: performance.now() - started };
  }

  async loadStop(windowMs: number): Promise<LoadStopResult> {
    this.stopTicks();
    let sent = 0;
    let received = 0;
    let starved = 0;
    const expected = windowMs / 20;
    for (const c of this.streaming) {
      sent += c.sent;
      received += c.received;
      if (c.received < expected * 0.9) starved++;
    }
    const calls = this.streaming;
    this.streaming = [];
    // Hang up in batches, not all in one burst.
    for (let i = 0; i < calls.length; i += 100) await Promise.all(calls.slice(i, i + 100).map((c) => this.hangup(c)));
    return { sent, received, starvedCalls: starved, clientLateTicks: this.lateTicks };
  }
}

// --- Worker entry --------------------------------------------------------------------------------

interface Command {
  id: number;
  cmd: 'setup-latency' | 'echo-latency' | 'load-start' | 'load-stop' | 'close';
  user?: string;
  count?: number;
  seconds?: number;
  cps?: number;
  windowMs?: number;
}

if (!isMainThread && parentPort !== null && (workerData as { role?: string } | null)?.role === 'bench-sip-client') {
  const port = parentPort;
  const { host, sipPort } = workerData as { host: string; sipPort: number };
  const client = new BenchSipClient(host, sipPort);
  const ready = client.start();
  port.on('message', (m: Command) => {
    void (async () => {
      await ready;
      try {
        let result: unknown;
        switch (m.cmd) {
          case 'setup-latency':
            result = await client.setupLatency(m.user ?? 'demo', m.count ?? 20);
            break;
          case 'echo-latency':
            result = await client.echoLatency(m.seconds ?? 10);
            break;
          case 'load-start':
            result = await client.loadStart(m.count ?? 100, m.cps ?? 200);
            break;
          case 'load-stop':
            result = await client.loadStop(m.windowMs ?? 0);
            break;
          case 'close':
            client.close();
            result = {};
            break;
        }
        port.postMessage({ id: m.id, ...(result as object) });
        if (m.cmd === 'close') port.close();
      } catch (err) {
        port.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
}
