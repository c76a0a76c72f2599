// Playback through Web Audio from samples the Go side decodes: WebKitGTK
// cannot load media from the wails:// scheme, so no <audio> element.
import { untrack } from 'svelte';
import { audioSamples, historyAudioSamples, type AudioData } from '../api';

/** Whose audio to play: a job in the queue, or an entry in the history. */
export interface Media {
  kind: 'job' | 'history';
  id: number;
}

/** The parts of Web Audio the player uses; tests pass a fake. */
export interface AudioOut {
  readonly currentTime: number;
  createBuffer(channels: number, length: number, rate: number): AudioBuffer;
  createBufferSource(): AudioBufferSourceNode;
  readonly destination: AudioNode;
  resume(): Promise<void>;
}

/** Base64 16-bit little-endian PCM as floats in [-1, 1]. */
export function decodePCM(b64: string): Float32Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Float32Array(new ArrayBuffer((bin.length >> 1) * 4));
  for (let i = 0; i < out.length; i++) {
    let v = bin.charCodeAt(2 * i) | (bin.charCodeAt(2 * i + 1) << 8);
    if (v >= 0x8000) v -= 0x10000;
    out[i] = v / 32768;
  }
  return out;
}

export class PlayerState {
  /** The audio loaded or loading (raw: compared by identity). */
  media = $state.raw<Media | null>(null);
  loading = $state(false);
  error = $state('');
  duration = $state(0);
  peaks = $state<number[]>([]);
  playing = $state(false);
  /** Seconds into the file. */
  position = $state(0);
  /** Playback speed, 0.5 to 2. */
  rate = $state(1);

  private out: AudioOut | null = null;
  private buffer: AudioBuffer | null = null;
  private source: AudioBufferSourceNode | null = null;
  private startedAt = 0;
  private offset = 0;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private makeOut: () => AudioOut = () => new AudioContext()) {}

  /** Loads a queue job's audio (once per job). */
  load(id: number): Promise<void> {
    return this.open({ kind: 'job', id });
  }

  /** Loads a job's or a history entry's audio (once for each). */
  async open(media: Media): Promise<void> {
    // An effect calls this: were the player's own state read here tracked,
    // the end of a failed load would run the effect, and so the load, again
    // and again.
    const loaded = untrack(() => {
      const cur = this.media;
      return cur?.kind === media.kind && cur.id === media.id && (this.buffer !== null || this.loading);
    });
    if (loaded) return;
    this.stop();
    const m = { ...media };
    this.media = m;
    this.buffer = null;
    this.peaks = [];
    this.duration = 0;
    this.error = '';
    this.loading = true;
    try {
      const data: AudioData = await (m.kind === 'job' ? audioSamples(m.id) : historyAudioSamples(m.id));
      if (this.media !== m) return;
      this.out ??= this.makeOut();
      const pcm = decodePCM(data.pcm);
      const buf = this.out.createBuffer(1, Math.max(1, pcm.length), data.sampleRate);
      buf.copyToChannel(pcm, 0);
      this.buffer = buf;
      this.duration = data.duration;
      this.peaks = data.peaks ?? [];
      this.position = 0;
    } catch (e) {
      this.error = (e as Error).message;
    } finally {
      if (this.media === m) this.loading = false;
    }
  }

  /** Plays from t seconds (loading the job's audio first if need be). */
  async playFrom(t: number): Promise<void> {
    if (!this.buffer || !this.out) return;
    this.halt();
    await this.out.resume();
    const src = this.out.createBufferSource();
    src.buffer = this.buffer;
    if (src.playbackRate) src.playbackRate.value = this.rate;
    src.connect(this.out.destination);
    this.offset = Math.min(Math.max(0, t), this.duration);
    this.startedAt = this.out.currentTime;
    src.onended = () => {
      if (this.source === src) this.finish();
    };
    src.start(0, this.offset);
    this.source = src;
    this.playing = true;
    this.position = this.offset;
    this.timer = setInterval(() => this.tick(), 50);
  }

  /** Moves by delta seconds, playing on if it was playing. */
  seek(delta: number): void {
    this.seekTo(this.position + delta);
  }

  /** Moves to t seconds, playing on if it was playing. */
  seekTo(t: number): void {
    const to = Math.min(Math.max(0, t), this.duration);
    if (this.playing) void this.playFrom(to);
    else this.position = to;
  }

  /** Sets the speed (0.5 to 2), keeping the place. */
  setRate(rate: number): void {
    const r = Math.min(2, Math.max(0.5, Number(rate) || 1));
    if (r === this.rate) return;
    if (this.playing) {
      this.tick();
      this.rate = r;
      void this.playFrom(this.position);
    } else this.rate = r;
  }

  toggle(): void {
    if (this.playing) this.pause();
    else void this.playFrom(this.position >= this.duration ? 0 : this.position);
  }

  pause(): void {
    if (!this.playing) return;
    this.tick();
    this.halt();
  }

  /** Stops and forgets the position. */
  stop(): void {
    this.halt();
    this.position = 0;
  }

  tick(): void {
    if (!this.out || !this.playing) return;
    this.position = Math.min(this.duration, this.offset + (this.out.currentTime - this.startedAt) * this.rate);
  }

  private finish(): void {
    this.halt();
    this.position = this.duration;
  }

  private halt(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const src = this.source;
    this.source = null;
    this.playing = false;
    if (src) {
      src.onended = null;
      try {
        src.stop();
      } catch {
        // already stopped
      }
    }
  }
}
