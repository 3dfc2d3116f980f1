import { FrameProcessor } from '../../frame-processor.js';
import { frames, type Frame, type FrameDirection } from '../../frames.js';
import { ServiceError } from '../../services/service-error.js';
import type { SttService, SttSession } from '../../services/stt/stt.js';

/**
 * Speech-to-text in the pipeline: feeds caller audio to a streaming session as it arrives (the
 * audio goes no further downstream), and at each end of turn asks for the final transcript —
 * streaming providers finalize, batch providers get the turn's captured audio — then sends a
 * final `transcription` frame on and marks `stt-final` on the turn timeline. Retryable failures
 * are retried (a dead streaming session is reopened); anything else goes to `onFatal`.
 */
export class SttProcessor extends FrameProcessor {
  private session: SttSession | null = null;
  private opening: Promise<SttSession> | null = null;
  private closed = false;

  constructor(
    private readonly stt: SttService,
    private readonly retries: number,
    private readonly hooks: { onFatal(err: ServiceError): void; onTurnLost(): void },
  ) {
    super('stt');
  }

  /** Opens the session (before the call is answered, so the first words are not lost). */
  async open(): Promise<void> {
    await this.ensureSession();
  }

  private ensureSession(): Promise<SttSession> {
    if (this.session !== null) return Promise.resolve(this.session);
    this.opening ??= this.stt
      .open({ onInterim: (text) => this.ctx.emit({ type: 'transcript', role: 'user', text, final: false }) })
      .then(
        (s) => {
          this.opening = null;
          if (this.closed) {
            void s.close();
          } else {
            this.session = s;
          }
          return s;
        },
        (err: unknown) => {
          this.opening = null;
          throw err;
        },
      );
    return this.opening;
  }

  protected processFrame(frame: Frame, direction: FrameDirection): void {
    if (direction === 'downstream') {
      if (frame.kind === 'input-audio') {
        if (this.stt.streaming) this.session?.write(frame.audio);
        return; // caller audio stops here
      }
      if (frame.kind === 'end-of-turn') {
        this.pushFrame(frame, direction);
        void this.finishTurn(frame.audio);
        return;
      }
    }
    this.pushFrame(frame, direction);
  }

  private async finishTurn(audio: Int16Array | null): Promise<void> {
    let lost = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const session = await this.ensureSession();
        if (this.closed) return;
        if (lost) {
          // a new session cannot recover the lost turn's audio: the agent asks the caller again
          this.hooks.onTurnLost();
          return;
        }
        const text = await session.finishTurn(audio);
        if (this.closed) return;
        this.ctx.timeline.mark('stt-final');
        this.pushFrame(frames.transcription(text, true));
        return;
      } catch (err) {
        if (this.closed) return;
        const e = ServiceError.from('stt', this.stt.name, err);
        if (!e.retryable || attempt >= this.retries) {
          this.hooks.onFatal(e);
          return;
        }
        this.ctx.logger.warn({ err: e.message, attempt: attempt + 1 }, 'stt failed; retrying');
        if (this.stt.streaming) {
          lost = true;
          const old = this.session;
          this.session = null;
          if (old !== null) void old.close();
        }
      }
    }
  }

  override cleanup(): void {
    super.cleanup();
    this.closed = true;
    const s = this.session;
    this.session = null;
    if (s !== null) void s.close();
  }
}
