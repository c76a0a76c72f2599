// The wrapper over the generated bindings: typed calls, rejected strings
// become Errors, events are wired to the Wails runtime.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const bound = vi.hoisted(() => ({
  GetSettings: vi.fn(),
  SaveSettings: vi.fn(),
  ServerStatus: vi.fn(),
  AddFiles: vi.fn(),
  PickFiles: vi.fn(),
  Jobs: vi.fn(),
  JobResult: vi.fn(),
  CancelJob: vi.fn(),
  CancelAll: vi.fn(),
  RetryJob: vi.fn(),
  RetryWithOverwrite: vi.fn(),
  RemoveJob: vi.fn(),
  RemoveFinished: vi.fn(),
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
    bound.AddFiles.mockResolvedValue({ added: [1], skipped: [] });
    await expect(api.addFiles(['/a.wav'])).resolves.toEqual({ added: [1], skipped: [] });
    expect(bound.AddFiles).toHaveBeenCalledWith(['/a.wav']);

    bound.ServerStatus.mockResolvedValue({ live: true });
    await expect(api.getServerStatus('h:1')).resolves.toEqual({ live: true });
    expect(bound.ServerStatus).toHaveBeenCalledWith('h:1');

    bound.GetSettings.mockResolvedValue({ server: 's', model: 'm' });
    await expect(api.getSettings()).resolves.toEqual({ server: 's', model: 'm' });

    bound.Jobs.mockResolvedValue(null);
    await expect(api.listJobs()).resolves.toEqual([]);

    for (const [fn, name] of [
      [api.cancelJob, 'CancelJob'],
      [api.retryJob, 'RetryJob'],
      [api.retryWithOverwrite, 'RetryWithOverwrite'],
      [api.removeJob, 'RemoveJob'],
      [api.jobResult, 'JobResult'],
    ] as const) {
      await fn(7);
      expect(bound[name]).toHaveBeenCalledWith(7);
    }
  });

  it('turn a rejected string into an Error with that message', async () => {
    bound.RetryJob.mockRejectedValue('Only a failed or cancelled job can be retried.');
    const err = await api.retryJob(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('Only a failed or cancelled job can be retried.');
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
    const unsubscribe = api.onQueueEvent((p) => seen.push(p));
    expect(runtime.EventsOn).toHaveBeenCalledWith(api.EVENT_QUEUE, expect.any(Function));
    const wailsCallback = runtime.EventsOn.mock.calls[0][1] as (p: unknown) => void;
    wailsCallback({ kind: 'updated', job: { id: 1 } });
    expect(seen).toEqual([{ kind: 'updated', job: { id: 1 } }]);
    unsubscribe();
    expect(off).toHaveBeenCalled();
  });

  it("hand a drop's outcome over, even when empty", () => {
    (window as unknown as Record<string, unknown>).runtime = {};
    runtime.EventsOn.mockReturnValue(() => {});
    const seen: unknown[] = [];
    api.onFilesAdded((res) => seen.push(res));
    expect(runtime.EventsOn).toHaveBeenCalledWith('files:added', expect.any(Function));
    const cb = runtime.EventsOn.mock.calls[0][1] as (p: unknown) => void;
    cb({ added: [1], skipped: [] });
    cb(null);
    expect(seen).toEqual([{ added: [1], skipped: [] }, { added: [], skipped: [] }]);
  });

  it('listen to nothing outside the Wails window', () => {
    const unsubscribe = api.onQueueEvent(() => {});
    expect(runtime.EventsOn).not.toHaveBeenCalled();
    expect(unsubscribe).not.toThrow();
  });
});
