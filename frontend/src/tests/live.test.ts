import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import { api, emitLive, liveListeners, resetApi } from './fake-api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import type { LiveEvent } from '../lib/api';
import { Resampler, level, micError, platformOf, toPCM16Base64, type Microphone } from '../lib/capture';
import { FRAME_SAMPLES, FrameSender, LiveState, atBottom, mergeResult, type LiveLine } from '../lib/state/live.svelte';
import { locale, t } from '../lib/i18n/index.svelte';
import LiveView from '../lib/components/LiveView.svelte';

beforeEach(() => {
  resetApi();
  locale.set('en');
});

function sine(freq: number, rate: number, n: number, amp = 0.5): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => amp * Math.sin((2 * Math.PI * freq * i) / rate));
}

function rms(x: Float32Array): number {
  return Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);
}

describe('Resampler', () => {
  it.each([
    [48000, 128],
    [44100, 128],
    [16000, 160],
    [22050, 333],
  ])('%i Hz in blocks of %i: 16 kHz out, the tone kept, the edges seamless', (rate, block) => {
    const x = sine(1000, rate, rate); // one second
    const whole = new Resampler(rate).push(x);
    const r = new Resampler(rate);
    const parts: number[] = [];
    for (let i = 0; i < x.length; i += block) parts.push(...r.push(x.subarray(i, i + block)));
    expect(Math.abs(whole.length - 16000)).toBeLessThanOrEqual(32); // the filter's lookahead
    expect(parts.length).toBe(whole.length);
    for (let i = 0; i < whole.length; i++) expect(Math.abs(parts[i] - whole[i])).toBeLessThan(1e-5);
    // Past the start-up, a 1 kHz tone at amplitude 0.5 (RMS 0.354), with
    // about 2000 zero crossings a second.
    const steady = whole.subarray(400, 15000);
    expect(rms(steady)).toBeCloseTo(0.5 / Math.SQRT2, 2);
    let crossings = 0;
    for (let i = 1; i < steady.length; i++) if (Math.sign(steady[i]) !== Math.sign(steady[i - 1])) crossings++;
    expect(crossings / (steady.length / 16000)).toBeGreaterThan(1990);
    expect(crossings / (steady.length / 16000)).toBeLessThan(2010);
  });

  it('takes out what 16 kHz cannot carry (a 10 kHz tone from 48 kHz)', () => {
    const y = new Resampler(48000).push(sine(10000, 48000, 48000));
    expect(rms(y.subarray(400, 15000))).toBeLessThan(0.02);
  });
});

describe('toPCM16Base64 and level', () => {
  it('writes little-endian 16-bit samples, clipped', () => {
    const b64 = toPCM16Base64(Float32Array.from([0, 1, -1, 0.5, 2, -2]));
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const v = new DataView(bytes.buffer);
    expect([0, 1, 2, 3, 4, 5].map((i) => v.getInt16(2 * i, true))).toEqual([0, 32767, -32768, 16384, 32767, -32768]);
  });

  it.each([
    ['silence', new Float32Array(1600), 0],
    ['full scale', Float32Array.from({ length: 1600 }, (_, i) => (i % 2 ? 1 : -1)), 1],
    ['-30 dBFS', Float32Array.from({ length: 1600 }, (_, i) => (i % 2 ? 1 : -1) * 10 ** (-30 / 20)), 0.5],
  ])('%s is %f on the meter', (_, x, want) => {
    expect(level(x)).toBeCloseTo(want, 2);
  });
});

describe('micError', () => {
  it.each([
    ['NotAllowedError', 'windows', 'live.error.denied', 'live.howto.windows'],
    ['NotAllowedError', 'mac', 'live.error.denied', 'live.howto.mac'],
    ['SecurityError', 'linux', 'live.error.denied', 'live.howto.linux'],
    ['NotFoundError', 'linux', 'live.error.noDevice', 'live.howto.linux'],
    ['OverconstrainedError', 'mac', 'live.error.noDevice', 'live.howto.mac'],
    ['NotReadableError', 'windows', 'live.error.busy', 'live.howto.windows'],
    ['NotSupportedError', 'linux', 'live.error.unsupported', null],
  ] as const)('%s on %s', (name, platform, what, howto) => {
    expect(micError(Object.assign(new Error('x'), { name }), platform)).toEqual({ what, howto });
  });

  it.each([
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Edg/120', 'windows'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15', 'mac'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 wails.io', 'linux'],
  ])('%s is %s', (ua, want) => {
    expect(platformOf(ua)).toBe(want);
  });
});

function ev(over: Partial<LiveEvent>): LiveEvent {
  const e = { session: 's1', type: 'partial' as const, utterance: 0, start: 0, ...over };
  return { end: e.start + 1, ...e };
}

describe('mergeResult', () => {
  const line = (utterance: number, start: number, text: string, partial: boolean): LiveLine => ({ utterance, start, end: start + 1, text, partial });

  it.each<[string, LiveLine[], LiveEvent, LiveLine[]]>([
    ['a first partial shows', [], ev({ text: '1' }), [line(0, 0, '1', true)]],
    ['a newer partial replaces the older', [line(0, 0, '1', true)], ev({ text: '1 2' }), [line(0, 0, '1 2', true)]],
    ['the final takes the partial\'s place', [line(0, 0, '1 2', true)], ev({ type: 'final', text: '1 2 3' }), [line(0, 0, '1 2 3', false)]],
    ['a partial after its final is stale', [line(0, 0, '1', false)], ev({ text: '1 2' }), [line(0, 0, '1', false)]],
    ['an empty partial takes the partial away', [line(0, 0, '1', true)], ev({ text: '' }), []],
    [
      'the next utterance\'s partial goes after the finals',
      [line(0, 0, '1', false)],
      ev({ utterance: 1, start: 3, text: '4' }),
      [line(0, 0, '1', false), line(1, 3, '4', true)],
    ],
    [
      'a final that came late goes in time order',
      [line(1, 3, '4', false), line(2, 5, '5', true)],
      ev({ type: 'final', utterance: 0, start: 0, text: '1' }),
      [line(0, 0, '1', false), line(1, 3, '4', false), line(2, 5, '5', true)],
    ],
    [
      'a split utterance keeps both pieces',
      [line(0, 0, '1', false)],
      ev({ type: 'final', utterance: 0, start: 30, text: '2', split: true }),
      [line(0, 0, '1', false), line(0, 30, '2', false)],
    ],
    ['level and status events leave the lines', [line(0, 0, '1', true)], ev({ type: 'level', level: 0.5 }), [line(0, 0, '1', true)]],
  ])('%s', (_, before, e, want) => {
    const snapshot = JSON.stringify(before);
    expect(mergeResult(before, e)).toEqual(want);
    expect(JSON.stringify(before)).toBe(snapshot);
  });
});

describe('atBottom (auto-scroll)', () => {
  it.each([
    ['at the bottom', 600, 1000, 400, true],
    ['a few pixels above it', 580, 1000, 400, true],
    ['scrolled up', 300, 1000, 400, false],
    ['content shorter than the box', 0, 300, 400, true],
  ])('%s', (_, top, height, client, want) => {
    expect(atBottom(top, height, client)).toBe(want);
  });
});

/** A send the test resolves by hand. */
function manualSend() {
  const calls: { b64: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const send = (b64: string) => new Promise<void>((resolve, reject) => calls.push({ b64, resolve, reject }));
  return { calls, send };
}

const samplesIn = (b64: string) => atob(b64).length / 2;

describe('FrameSender', () => {
  it('sends 100 ms frames one call at a time, joining what waited, in order', async () => {
    const { calls, send } = manualSend();
    const s = new FrameSender(send, () => {});
    s.push(new Float32Array(FRAME_SAMPLES / 2));
    expect(calls).toHaveLength(0); // less than a frame
    s.push(new Float32Array(FRAME_SAMPLES / 2));
    expect(calls).toHaveLength(1);
    for (let i = 0; i < 3; i++) s.push(new Float32Array(FRAME_SAMPLES));
    expect(calls).toHaveLength(1); // one in flight
    calls[0].resolve();
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    expect(samplesIn(calls[0].b64)).toBe(FRAME_SAMPLES);
    expect(samplesIn(calls[1].b64)).toBe(3 * FRAME_SAMPLES);
    s.push(new Float32Array(10));
    calls[1].resolve();
    const done = s.flush();
    await vi.waitFor(() => expect(calls).toHaveLength(3));
    calls[2].resolve();
    await done;
    expect(samplesIn(calls[2].b64)).toBe(10);
  });

  it('reports a failed call and goes on', async () => {
    const { calls, send } = manualSend();
    const errors: string[] = [];
    const s = new FrameSender(send, (e) => errors.push(e.message));
    s.push(new Float32Array(FRAME_SAMPLES));
    calls[0].reject(new Error('the session is not recording'));
    await vi.waitFor(() => expect(errors).toEqual(['the session is not recording']));
    s.push(new Float32Array(FRAME_SAMPLES));
    expect(calls).toHaveLength(2);
  });
});

class FakeMic implements Microphone {
  onAudio: ((x: Float32Array) => void) | null = null;
  fail: Error | null = null;
  closed = 0;
  device = '';
  async open(deviceId: string, onAudio: (x: Float32Array) => void) {
    if (this.fail) throw this.fail;
    this.device = deviceId;
    this.onAudio = onAudio;
  }
  close() {
    this.closed++;
  }
}

function liveWith(mic: FakeMic, platform: 'linux' | 'windows' | 'mac' = 'linux') {
  return new LiveState(mic, platform, async () => [
    { id: 'default', label: '' },
    { id: 'usb', label: 'USB microphone' },
  ]);
}

describe('LiveState', () => {
  beforeEach(() => {
    api.liveStart.mockResolvedValue({ id: 's1', server: 'gpu:8001', model: 'parakeet', sampleRate: 16000 });
    api.liveFeed.mockResolvedValue();
    api.livePause.mockResolvedValue();
    api.liveResume.mockResolvedValue();
    api.liveStop.mockResolvedValue({ id: 's1', historyId: 42, audioPath: '/data/live/live-s1.wav', duration: 3, untranscribed: 0, warnings: [] });
  });

  it('records: frames to Go, results and notices from it, Stop saves', async () => {
    const mic = new FakeMic();
    const live = liveWith(mic);
    live.deviceId = 'usb';
    await live.start();
    expect(live.phase).toBe('recording');
    expect(mic.device).toBe('usb');
    mic.onAudio!(new Float32Array(FRAME_SAMPLES).fill(0.1));
    await vi.waitFor(() => expect(api.liveFeed).toHaveBeenCalledTimes(1));
    expect(api.liveFeed.mock.calls[0][0]).toBe('s1');
    expect(live.elapsed).toBeCloseTo(0.1, 5);
    expect(live.level).toBeGreaterThan(0.5);

    emitLive(ev({ text: '1' }));
    emitLive(ev({ session: 'other', text: 'not ours' }));
    expect(live.lines).toEqual([{ utterance: 0, start: 0, end: 1, text: '1', partial: true }]);
    emitLive(ev({ type: 'final', text: '1', latency_ms: 480.4 }));
    expect(live.lines.map((l) => [l.text, l.partial])).toEqual([['1', false]]);
    expect(live.latencyMs).toBe(480.4);
    emitLive(ev({ type: 'status', status: 'offline', pending: 2, message: 'x' }));
    expect(live.notice).toBe(t('live.notice.offline', { count: 2 }));
    emitLive(ev({ type: 'status', status: 'online' }));
    expect(live.notice).toBe(t('live.notice.online'));

    await live.pause();
    expect(api.livePause).toHaveBeenCalledWith('s1');
    mic.onAudio!(new Float32Array(FRAME_SAMPLES)); // not sent while paused
    await live.resume();
    expect(live.phase).toBe('recording');
    expect(api.liveFeed).toHaveBeenCalledTimes(1);

    mic.onAudio!(new Float32Array(FRAME_SAMPLES / 4)); // sent at Stop
    expect(await live.stop()).toBe(42);
    expect(api.liveFeed).toHaveBeenCalledTimes(2);
    expect(mic.closed).toBe(1);
    expect(live.phase).toBe('idle');
    expect(liveListeners()).toBe(0);
  });

  it.each([
    ['denied on Windows', 'NotAllowedError', 'windows', 'live.error.denied', 'live.howto.windows'],
    ['no device on Linux', 'NotFoundError', 'linux', 'live.error.noDevice', 'live.howto.linux'],
  ] as const)('a microphone %s: the sentence and how to fix it; the empty session is closed', async (_, name, platform, what, howto) => {
    const mic = new FakeMic();
    mic.fail = Object.assign(new Error('x'), { name });
    const live = liveWith(mic, platform);
    await live.start();
    expect(live.phase).toBe('idle');
    expect(live.micError).toEqual({ what, howto });
    expect(api.liveStop).toHaveBeenCalledWith('s1');
    expect(liveListeners()).toBe(0);
  });

  it('a session that cannot start says why', async () => {
    api.liveStart.mockRejectedValue(new Error('The model "x" is not on gpu:8001.'));
    const live = liveWith(new FakeMic());
    await live.start();
    expect(live.phase).toBe('idle');
    expect(live.error).toBe(t('live.error.start', { message: 'The model "x" is not on gpu:8001.' }));
  });

  it('tells of recovered sessions once asked, until dismissed', async () => {
    api.liveRecovered.mockResolvedValue([{ id: 'r1', historyId: 7, warnings: [] }]);
    const live = liveWith(new FakeMic());
    await live.checkRecovered();
    expect(live.recovered).toHaveLength(1);
    live.dismissRecovered();
    expect(live.recovered).toHaveLength(0);
  });
});

describe('LiveView', () => {
  beforeEach(() => {
    api.liveStart.mockResolvedValue({ id: 's1', server: 'gpu:8001', model: 'parakeet', sampleRate: 16000 });
    api.liveFeed.mockResolvedValue();
    api.liveStop.mockResolvedValue({ id: 's1', historyId: 42, audioPath: '', duration: 1, untranscribed: 0, warnings: [] });
  });

  it('Start, the transcript grows (partials marked), Stop opens the saved entry', async () => {
    const mic = new FakeMic();
    const live = liveWith(mic);
    live.show();
    const saved = vi.fn();
    render(LiveView, { live, onsaved: saved });
    await vi.waitFor(() => expect(screen.getByRole('option', { name: 'USB microphone' })).toBeTruthy());
    await fireEvent.click(screen.getByRole('button', { name: t('live.start') }));
    await vi.waitFor(() => expect(screen.getByRole('button', { name: t('live.stop') })).toBeTruthy());
    emitLive(ev({ type: 'final', text: '1 2', latency_ms: 500 }));
    emitLive(ev({ utterance: 1, start: 2, text: '3' }));
    await vi.waitFor(() => expect(screen.getAllByTestId('live-final')).toHaveLength(1));
    expect(screen.getByTestId('live-partial').textContent).toContain('3');
    expect(screen.getByTestId('live-latency').textContent).toMatch(/500\s*ms/);
    await fireEvent.click(screen.getByRole('button', { name: t('live.stop') }));
    await vi.waitFor(() => expect(saved).toHaveBeenCalledWith(42));
  });

  it('a refused microphone shows the sentence and the fix for this platform', async () => {
    const mic = new FakeMic();
    mic.fail = Object.assign(new Error('x'), { name: 'NotAllowedError' });
    const live = liveWith(mic, 'mac');
    render(LiveView, { live, onsaved: () => {} });
    await fireEvent.click(screen.getByRole('button', { name: t('live.start') }));
    const alert = await screen.findByTestId('live-mic-error');
    expect(alert.textContent).toContain(t('live.error.denied'));
    expect(alert.textContent).toContain(t('live.howto.mac'));
  });
});
