import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeOut, api, audio, deferred, resetApi } from './fake-api';
import type { AudioData } from '../lib/api';

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

  it("loads a history entry's audio, and a job's again after it", async () => {
    const out = new FakeOut();
    const p = new PlayerState(() => out);
    await p.load(3);
    await p.open({ kind: 'history', id: 3 });
    await p.open({ kind: 'history', id: 3 });
    expect(api.audioSamples).toHaveBeenCalledTimes(1);
    expect(api.historyAudioSamples).toHaveBeenCalledTimes(1);
    expect(api.historyAudioSamples).toHaveBeenCalledWith(3);
    expect(p.media).toEqual({ kind: 'history', id: 3 });
    expect(p.duration).toBe(80);
    await p.playFrom(10);
    expect(out.started).toEqual([{ when: 0, offset: 10 }]);
    await p.load(3);
    expect(api.audioSamples).toHaveBeenCalledTimes(2);
    expect(p.playing).toBe(false);
  });

  it('keeps only the audio asked for last', async () => {
    const slow = deferred<AudioData>();
    api.historyAudioSamples.mockReturnValueOnce(slow.promise);
    const p = new PlayerState(() => new FakeOut());
    const first = p.open({ kind: 'history', id: 1 });
    await p.load(2);
    slow.resolve({ ...audio(), duration: 5 });
    await first;
    expect(p.media).toEqual({ kind: 'job', id: 2 });
    expect(p.duration).toBe(80);
    expect(p.loading).toBe(false);
  });

  it("says the history entry's audio file is gone, and plays nothing", async () => {
    const p = new PlayerState(() => new FakeOut());
    await p.load(1);
    api.historyAudioSamples.mockRejectedValue(
      new Error('The audio file /a/talk.wav is not there any more (moved, renamed or deleted), so it cannot be played; the transcript itself is still in the history.'),
    );
    await p.open({ kind: 'history', id: 4 });
    expect(p.error).toMatch(/not there any more.*the transcript itself is still in the history/);
    expect(p.duration).toBe(0);
    expect(p.peaks).toEqual([]);
  });

  it('shows why the audio could not be loaded', async () => {
    api.audioSamples.mockRejectedValue(new Error('Reading /a.wav for playback: no such file.'));
    const p = new PlayerState(() => new FakeOut());
    await p.load(1);
    expect(p.error).toBe('Reading /a.wav for playback: no such file.');
    await p.playFrom(3);
    expect(p.playing).toBe(false);
  });

  it('seeks by 5 s within the file and plays faster or slower, keeping the place', async () => {
    const out = new FakeOut();
    const p = new PlayerState(() => out);
    await p.load(1);
    p.seek(5);
    expect(p.position).toBe(5);
    p.seek(-10);
    expect(p.position).toBe(0);
    p.seekTo(100);
    expect(p.position).toBe(80);
    await p.playFrom(10);
    p.setRate(2);
    await vi.waitFor(() => expect(out.started).toHaveLength(2));
    expect(out.started[1].offset).toBeCloseTo(10);
    out.currentTime = 1;
    vi.advanceTimersByTime(60);
    expect(p.position).toBeCloseTo(12);
    p.setRate(9);
    expect(p.rate).toBe(2);
    p.setRate(0.1);
    expect(p.rate).toBe(0.5);
  });
});
