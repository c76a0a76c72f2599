// The wrapper over the generated bindings: typed calls, rejected strings
// become Errors, events are wired to the Wails runtime.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const bound = vi.hoisted(() => ({
  Defaults: vi.fn(),
  PickAudioFile: vi.fn(),
  ServerStatus: vi.fn(),
  Transcribe: vi.fn(),
}));
const runtime = vi.hoisted(() => ({ EventsOn: vi.fn() }));

vi.mock('../../wailsjs/go/main/App', () => bound);
vi.mock('../../wailsjs/runtime/runtime', () => runtime);

import * as api from '../lib/api';

beforeEach(() => {
  vi.clearAllMocks();
});

afterEach(() => {
  delete (window as unknown as Record<string, unknown>).runtime;
});

describe('calls', () => {
  it('pass arguments through and resolve with the result', async () => {
    bound.Transcribe.mockResolvedValue({ transcript: { text: 'hi' }, outputs: [] });
    await expect(api.transcribeFile('/a.wav', 'h:1', 'm')).resolves.toEqual({
      transcript: { text: 'hi' },
      outputs: [],
    });
    expect(bound.Transcribe).toHaveBeenCalledWith('/a.wav', 'h:1', 'm');

    bound.ServerStatus.mockResolvedValue({ live: true });
    await expect(api.getServerStatus('h:1')).resolves.toEqual({ live: true });
    expect(bound.ServerStatus).toHaveBeenCalledWith('h:1');

    bound.Defaults.mockResolvedValue({ server: 's', model: 'm' });
    await expect(api.getDefaults()).resolves.toEqual({ server: 's', model: 'm' });

    bound.PickAudioFile.mockResolvedValue('');
    await expect(api.pickAudioFile()).resolves.toBe('');
  });

  it('turn a rejected string into an Error with that message', async () => {
    bound.Transcribe.mockRejectedValue('Transcribe: engine under construction.');
    const err = await api.transcribeFile('/a.wav', 'h:1', 'm').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('Transcribe: engine under construction.');
  });

  it('turn a synchronous throw (no Wails bridge) into a rejected Error', async () => {
    bound.ServerStatus.mockImplementation(() => {
      throw new TypeError("undefined is not an object (evaluating 'window.go.main')");
    });
    await expect(api.getServerStatus('h:1')).rejects.toBeInstanceOf(TypeError);
  });
});

describe('toError', () => {
  it.each([
    ['a string', 'boom.', 'boom.'],
    ['an empty string', '', 'Something went wrong.'],
    ['an object with a message', { message: 'from object' }, 'from object'],
    ['undefined', undefined, 'Something went wrong.'],
  ])('handles %s', (_name, reason, message) => {
    expect(api.toError(reason).message).toBe(message);
  });

  it('keeps an Error as it is', () => {
    const e = new RangeError('x');
    expect(api.toError(e)).toBe(e);
  });
});

describe('events', () => {
  it('subscribe through the Wails runtime and hand over the payload', () => {
    (window as unknown as Record<string, unknown>).runtime = {};
    const off = vi.fn();
    runtime.EventsOn.mockReturnValue(off);
    const seen: unknown[] = [];
    const unsubscribe = api.onProgress((p) => seen.push(p));
    expect(runtime.EventsOn).toHaveBeenCalledWith(api.EVENT_PROGRESS, expect.any(Function));
    const wailsCallback = runtime.EventsOn.mock.calls[0][1] as (p: unknown) => void;
    wailsCallback({ path: '/a.wav', stage: 'decoding' });
    expect(seen).toEqual([{ path: '/a.wav', stage: 'decoding' }]);
    unsubscribe();
    expect(off).toHaveBeenCalled();
  });

  it('hand dropped paths over as a list, even when empty', () => {
    (window as unknown as Record<string, unknown>).runtime = {};
    runtime.EventsOn.mockReturnValue(() => {});
    const seen: string[][] = [];
    api.onFilesDropped((paths) => seen.push(paths));
    expect(runtime.EventsOn).toHaveBeenCalledWith('files:dropped', expect.any(Function));
    const cb = runtime.EventsOn.mock.calls[0][1] as (p: unknown) => void;
    cb(['/a.wav']);
    cb(null);
    expect(seen).toEqual([['/a.wav'], []]);
  });

  it('listen to nothing outside the Wails window', () => {
    const unsubscribe = api.onProgress(() => {});
    expect(runtime.EventsOn).not.toHaveBeenCalled();
    expect(unsubscribe).not.toThrow();
  });
});
