/**
 * The alert sound for a new urgent alarm: a tone made with Web Audio (no file to fail to load).
 * It can be silenced for a while, never for good: the silence has an end time.
 */
let ctx: AudioContext | null = null;

export function playAlert(): void {
  try {
    ctx ??= new AudioContext();
    const now = ctx.currentTime;
    for (const [i, freq] of [880, 660, 880].entries()) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.25, now + i * 0.25);
      gain.gain.exponentialRampToValueAtTime(0.001, now + i * 0.25 + 0.22);
      osc.connect(gain).connect(ctx.destination);
      osc.start(now + i * 0.25);
      osc.stop(now + i * 0.25 + 0.23);
    }
  } catch {
    // No audio device: the visual alert and the screen-reader announcement remain.
  }
}

/** Priorities that sound: 1 and 2. */
export const SOUND_PRIORITY = 2;

/** Choices for silencing, in minutes. There is no "forever". */
export const SILENCE_MINUTES = [5, 15] as const;
