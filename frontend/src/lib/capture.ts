// Microphone capture in the page: getUserMedia, an AudioWorklet (or a
// ScriptProcessor where there is none) handing over the input's blocks,
// downmixed and resampled here to 16 kHz mono for Go. The pure parts
// (Resampler, toPCM16Base64, level, micError) are tested on their own.
import type { MessageKey } from './i18n/index.svelte';

/** The rate Go's live session takes. */
export const TARGET_RATE = 16000;

/**
 * A streaming windowed-sinc resampler: any input rate to outRate, block by
 * block, with the filter's history kept across blocks so block edges leave
 * no trace. The cutoff sits below the lower Nyquist rate (speech needs
 * nothing above 7 kHz at 16 kHz).
 */
export class Resampler {
  private readonly step: number; // input samples per output sample
  private readonly half: number; // taps on each side
  private readonly cutoff: number; // of the input's Nyquist, 0..1
  private buf: Float32Array = new Float32Array(0);
  // The next output's position in buf is made from integers each time, so
  // block sizes never change the result by rounding.
  private made = 0; // outputs so far
  private dropped = 0; // input samples dropped from the front of buf

  constructor(
    readonly inRate: number,
    readonly outRate: number = TARGET_RATE,
    taps = 16,
  ) {
    this.step = inRate / outRate;
    this.cutoff = Math.min(1, outRate / inRate) * 0.9;
    this.half = Math.ceil((taps / 2) * Math.max(1, this.step));
    this.buf = new Float32Array(this.half); // silence before the first sample
  }

  /** Resamples the next block; returns what is ready (may be empty). */
  push(x: Float32Array): Float32Array {
    if (this.inRate === this.outRate) return x.slice();
    const joined = new Float32Array(this.buf.length + x.length);
    joined.set(this.buf);
    joined.set(x, this.buf.length);
    const out: number[] = [];
    const { half, cutoff } = this;
    for (;;) {
      const pos = this.made * this.step + half - this.dropped;
      if (pos + half >= joined.length) break;
      const centre = Math.floor(pos);
      const frac = pos - centre;
      let acc = 0;
      let norm = 0;
      for (let k = -half + 1; k <= half; k++) {
        const d = k - frac;
        const w = 0.5 + 0.5 * Math.cos((Math.PI * d) / (half + 1)); // Hann
        const s = d === 0 ? cutoff : Math.sin(Math.PI * cutoff * d) / (Math.PI * d);
        const c = w * s;
        acc += c * joined[centre + k];
        norm += c;
      }
      out.push(norm !== 0 ? acc / norm : 0);
      this.made++;
    }
    // Keep what the next outputs still need.
    const keepFrom = Math.max(0, Math.floor(this.made * this.step + half - this.dropped) - half);
    this.buf = joined.slice(keepFrom);
    this.dropped += keepFrom;
    return Float32Array.from(out);
  }
}

/** 16-bit little-endian PCM of x (clipped), base64, as LiveFeed takes it. */
export function toPCM16Base64(x: Float32Array): string {
  const bytes = new Uint8Array(x.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < x.length; i++) {
    const v = Math.max(-1, Math.min(1, x[i]));
    view.setInt16(2 * i, Math.round(v < 0 ? v * 32768 : v * 32767), true);
  }
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** The block's RMS level as 0..1 on a -60..0 dBFS scale, for a meter. */
export function level(x: Float32Array): number {
  if (x.length === 0) return 0;
  let sum = 0;
  for (const v of x) sum += v * v;
  const db = 10 * Math.log10(sum / x.length + 1e-12);
  return Math.max(0, Math.min(1, (db + 60) / 60));
}

export type Platform = 'windows' | 'mac' | 'linux';

export function platformOf(ua: string): Platform {
  if (/Windows/i.test(ua)) return 'windows';
  if (/Mac OS X|Macintosh/i.test(ua)) return 'mac';
  return 'linux';
}

/** A microphone failure as the sentences to show: what, and how to fix it here. */
export interface MicError {
  what: MessageKey;
  howto: MessageKey | null;
}

const howto: Record<Platform, MessageKey> = {
  windows: 'live.howto.windows',
  mac: 'live.howto.mac',
  linux: 'live.howto.linux',
};

/** What a getUserMedia rejection means for the user. */
export function micError(err: unknown, platform: Platform): MicError {
  const name = err && typeof err === 'object' && 'name' in err ? String((err as { name: unknown }).name) : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return { what: 'live.error.denied', howto: howto[platform] };
    case 'NotFoundError':
    case 'OverconstrainedError': // WebKit's answer when there is no device at all
    case 'DevicesNotFoundError':
      return { what: 'live.error.noDevice', howto: howto[platform] };
    case 'NotReadableError':
    case 'AbortError':
    case 'TrackStartError':
      return { what: 'live.error.busy', howto: howto[platform] };
    default:
      return { what: 'live.error.unsupported', howto: null };
  }
}

/** One input device, for the picker. */
export interface Device {
  id: string;
  label: string;
}

/** The page's audio inputs ('' label when the page may not name them yet). */
export async function listDevices(): Promise<Device[]> {
  const md = globalThis.navigator?.mediaDevices;
  if (!md?.enumerateDevices) return [];
  const all = await md.enumerateDevices();
  return all.filter((d) => d.kind === 'audioinput').map((d) => ({ id: d.deviceId, label: d.label }));
}

// The worklet hands each block of the first channels' mean to the page; it
// is a string turned into a Blob URL, so no extra file needs serving.
const workletSource = `
class NemoCapture extends AudioWorkletProcessor {
  process(inputs) {
    const input = inputs[0];
    if (input && input.length > 0) {
      const n = input[0].length;
      const mono = new Float32Array(n);
      for (const ch of input) for (let i = 0; i < n; i++) mono[i] += ch[i] / input.length;
      this.port.postMessage(mono, [mono.buffer]);
    }
    return true;
  }
}
registerProcessor('nemo-capture', NemoCapture);
`;

/** The microphone as LiveState uses it; tests pass a fake. */
export interface Microphone {
  /** Opens deviceId ('' = the default) and calls onAudio with 16 kHz mono blocks. */
  open(deviceId: string, onAudio: (x: Float32Array) => void): Promise<void>;
  close(): void;
}

/** The browser's microphone. */
export class BrowserMicrophone implements Microphone {
  private stream: MediaStream | null = null;
  private ctx: AudioContext | null = null;
  private nodes: AudioNode[] = [];

  async open(deviceId: string, onAudio: (x: Float32Array) => void): Promise<void> {
    const md = globalThis.navigator?.mediaDevices;
    if (!md?.getUserMedia) throw Object.assign(new Error('no mediaDevices'), { name: 'NotSupportedError' });
    // Raw audio: the model hears best what the microphone heard.
    this.stream = await md.getUserMedia({
      audio: {
        deviceId: deviceId ? { exact: deviceId } : undefined,
        channelCount: 1,
        echoCancellation: false,
        noiseSuppression: false,
        autoGainControl: false,
      },
    });
    try {
      const ctx = new AudioContext();
      this.ctx = ctx;
      const source = ctx.createMediaStreamSource(this.stream);
      const resampler = new Resampler(ctx.sampleRate, TARGET_RATE);
      const deliver = (x: Float32Array) => {
        const y = resampler.push(x);
        if (y.length) onAudio(y);
      };
      // A sink that plays nothing keeps the graph pulling.
      const mute = ctx.createGain();
      mute.gain.value = 0;
      mute.connect(ctx.destination);
      if (ctx.audioWorklet) {
        const url = URL.createObjectURL(new Blob([workletSource], { type: 'text/javascript' }));
        try {
          await ctx.audioWorklet.addModule(url);
        } finally {
          URL.revokeObjectURL(url);
        }
        const node = new AudioWorkletNode(ctx, 'nemo-capture', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
        node.port.onmessage = (e: MessageEvent<Float32Array>) => deliver(e.data);
        source.connect(node).connect(mute);
        this.nodes = [source, node, mute];
      } else {
        const node = ctx.createScriptProcessor(4096, 1, 1);
        node.onaudioprocess = (e) => deliver(new Float32Array(e.inputBuffer.getChannelData(0)));
        source.connect(node).connect(mute);
        this.nodes = [source, node, mute];
      }
      if (ctx.state === 'suspended') await ctx.resume();
    } catch (err) {
      this.close();
      throw err;
    }
  }

  close(): void {
    for (const n of this.nodes) n.disconnect();
    this.nodes = [];
    this.stream?.getTracks().forEach((t) => t.stop());
    this.stream = null;
    void this.ctx?.close().catch(() => {});
    this.ctx = null;
  }
}
