import { describe, expect, it } from 'vitest';
import { baseName, formatTimestamp, progressLabel, stageLabel } from '../lib/format';

describe('formatTimestamp', () => {
  it.each([
    [0, '[00:00.0]'],
    [0.24, '[00:00.2]'],
    [9.96, '[00:10.0]'],
    [59.95, '[01:00.0]'],
    [62.96, '[01:03.0]'],
    [605.4, '[10:05.4]'],
    [3599.94, '[59:59.9]'],
    [3600, '[1:00:00.0]'],
    [7384.25, '[2:03:04.3]'],
    [-1, '[00:00.0]'],
    [Number.NaN, '[00:00.0]'],
  ])('%s s is %s', (s, want) => {
    expect(formatTimestamp(s)).toBe(want);
  });
});

describe('progressLabel', () => {
  it('names the stage and counts chunks once they are known', () => {
    const p = { path: 'a.wav', stage: 'transcribing' as const, chunksDone: 3, chunksTotal: 10, fraction: 0.3 };
    expect(progressLabel(p)).toBe('Transcribing — chunk 3 of 10');
    expect(progressLabel({ ...p, stage: 'decoding', chunksDone: 0, chunksTotal: 0 })).toBe('Reading the audio');
    expect(progressLabel({ ...p, stage: 'done', chunksDone: 10 })).toBe('Done — 10 chunks');
    expect(progressLabel({ ...p, stage: 'done', chunksDone: 1, chunksTotal: 1 })).toBe('Done — 1 chunk');
  });

  it('shows an unknown stage as it comes', () => {
    expect(stageLabel('warming-up')).toBe('warming-up');
  });
});

describe('baseName', () => {
  it.each([
    ['/home/u/take 1.wav', 'take 1.wav'],
    ['C:\\Users\\u\\a.wav', 'a.wav'],
    ['a.wav', 'a.wav'],
  ])('%s -> %s', (path, want) => {
    expect(baseName(path)).toBe(want);
  });
});
