/**
 * Where the speech is in a recording: 20 ms frames classified by level. Good enough for TTS and
 * espeak audio against digital silence (what the bots and baresip's files hold), not a VAD.
 */
export interface SpeechSpan {
  startMs: number;
  endMs: number;
}

const FRAME = 160; // 20 ms at 8 kHz

/** Per 20 ms frame: is its RMS above `thresholdDbfs`? */
export function voicedFrames(pcm: Int16Array, thresholdDbfs = -45, samplesPerFrame = FRAME): boolean[] {
  const out: boolean[] = [];
  const threshold = 32768 * 10 ** (thresholdDbfs / 20);
  for (let o = 0; o + samplesPerFrame <= pcm.length; o += samplesPerFrame) {
    let sum = 0;
    for (let i = o; i < o + samplesPerFrame; i++) sum += pcm[i]! * pcm[i]!;
    out.push(Math.sqrt(sum / samplesPerFrame) > threshold);
  }
  return out;
}

/** Voiced stretches, with gaps shorter than `bridgeMs` (pauses between words) bridged. */
export function speechSpans(pcm: Int16Array, options: { thresholdDbfs?: number; bridgeMs?: number; sampleRate?: number } = {}): SpeechSpan[] {
  const rate = options.sampleRate ?? 8000;
  const frameMs = 20;
  const voiced = voicedFrames(pcm, options.thresholdDbfs ?? -45, (rate * frameMs) / 1000);
  const bridge = Math.round((options.bridgeMs ?? 600) / frameMs);
  const spans: SpeechSpan[] = [];
  let start = -1;
  let lastVoiced = -1;
  voiced.forEach((v, i) => {
    if (!v) return;
    if (start < 0) start = i;
    else if (i - lastVoiced > bridge) {
      spans.push({ startMs: start * frameMs, endMs: (lastVoiced + 1) * frameMs });
      start = i;
    }
    lastVoiced = i;
  });
  if (start >= 0) spans.push({ startMs: start * frameMs, endMs: (lastVoiced + 1) * frameMs });
  return spans;
}
