import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeOut, api, resetApi } from './fake-api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import { PlayerState, decodePCM } from '../lib/state/player.svelte';

beforeEach(() => {
  resetApi();
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

describe('decodePCM', () => {
  it('reads signed 16-bit little-endian samples', () => {
    expect(Array.from(decodePCM(btoa('\x00\x40\x00\xC0\xff\x7f\x00\x80')))).toEqual([0.5, -0.5, 32767 / 32768, -1]);
  });
});

describe('PlayerState', () => {
  it('loads a job once and plays from a time, its position following the clock', async () => {
    const out = new FakeOut();
    const p = new PlayerState(() => out);
    await p.load(3);
    await p.load(3);
    expect(api.audioSamples).toHaveBeenCalledTimes(1);
    expect(p.duration).toBe(80);
    expect(p.peaks).toEqual([0.1, 0.5, 0.2]);
    expect(Array.from(out.copied[0])).toEqual([0.5, -0.5]);

    await p.playFrom(62.9);
    expect(out.resume).toHaveBeenCalled();
    expect(out.started).toEqual([{ when: 0, offset: 62.9 }]);
    expect(p.playing).toBe(true);
    out.currentTime = 1.5;
    vi.advanceTimersByTime(60);
    expect(p.position).toBeCloseTo(64.4);

    p.pause();
    expect(p.playing).toBe(false);
    expect(out.stopped).toBe(1);
    out.currentTime = 5;
    vi.advanceTimersByTime(200);
    expect(p.position).toBeCloseTo(64.4);

    p.toggle();
    await vi.waitFor(() => expect(out.started[1]?.offset).toBeCloseTo(64.4));
  });

  it('keeps a seek inside the file', async () => {
    const out = new FakeOut();
    const p = new PlayerState(() => out);
    await p.load(1);
    await p.playFrom(500);
    expect(out.started[0].offset).toBe(80);
    await p.playFrom(-3);
    expect(out.started[1].offset).toBe(0);
  });

  it('shows why the audio could not be loaded', async () => {
    api.audioSamples.mockRejectedValue(new Error('Reading /a.wav for playback: no such file.'));
    const p = new PlayerState(() => new FakeOut());
    await p.load(1);
    expect(p.error).toBe('Reading /a.wav for playback: no such file.');
    await p.playFrom(3);
    expect(p.playing).toBe(false);
  });
});
