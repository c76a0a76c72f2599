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
import { locale } from '../lib/i18n/index.svelte';
import { asSentence, goText } from '../lib/i18n/gotext';
import { errorsEn as en } from '../lib/i18n/parts/errors/en';

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

describe("Go's rejections in the UI's language", () => {
  // As app.go's formatError sends them; the keys are the generated ones
  // for these formats in parts/errors/en.ts.
  const unreachable = 'go.5fd6e84a'; // cannot reach a Triton server at %s: …
  const tried = 'go.1ab518bf'; // %s (tried %d times over %s)
  expect(en[unreachable]).toContain('cannot reach a Triton server at {1}');
  expect(en[tried]).toBe('{1} (tried {2} times over {3})');
  const english =
    "sample.wav: cannot reach a Triton server at gpu:8001: check the address and that the server is running (Triton's gRPC port is usually 8001) (tried 3 times over 1.5s)";
  const rejection = {
    message: 'sample.wav: ' + english.slice('sample.wav: '.length) + '.',
    code: 'server_unreachable',
    text: {
      text: english,
      key: tried,
      before: 'sample.wav: ',
      params: [{ text: english.slice(12, -25), key: unreachable, params: [{ text: 'gpu:8001' }] }, { text: '3' }, { text: '1.5s' }],
    },
  };

  afterEach(() => locale.set(''));

  it('reads a JSON rejection in German, placeholders filled, nested sentences too, the file name kept in front', () => {
    locale.set('de');
    const err = api.toError(JSON.stringify(rejection));
    expect(err).toBeInstanceOf(api.GoError);
    expect(err.message).toBe(
      'sample.wav: Kein Triton-Server unter gpu:8001 erreichbar: prüfen Sie die Adresse und ob der Server läuft (der gRPC-Port von Triton ist meist 8001) (3 Versuche in 1.5s).',
    );
    expect((err as api.GoError).code).toBe('server_unreachable');
    expect((err as api.GoError).english).toBe(rejection.message);
  });

  it('reads the object Wails hands over, in Japanese with its own full stop', () => {
    locale.set('ja');
    const err = api.toError({ ...rejection, text: rejection.text.params[0] });
    expect(err.message).toBe('gpu:8001 の Triton サーバーに接続できません。アドレスと、サーバーが動いているかを確認してください（Triton の gRPC ポートは通常 8001）。');
  });

  it("keeps Go's English sentence in English", () => {
    locale.set('en');
    expect(api.toError(rejection).message).toBe(rejection.message);
  });

  it("falls back to Go's English for a key this build does not know, or none", () => {
    locale.set('de');
    expect(api.toError({ ...rejection, text: { ...rejection.text, key: 'go.00000000' } }).message).toBe(rejection.message);
    expect(api.toError({ message: 'Plain.', code: 'internal', text: { text: 'plain' } }).message).toBe('Plain.');
    expect(api.toError('{not json').message).toBe('{not json');
  });

  it('words a job error and a note through goText, English when unknown', () => {
    locale.set('fr');
    expect(goText({ text: 'the file has no sound track', key: 'go.239ccf65' })).toBe("le fichier n'a pas de piste son");
    expect(goText({ text: 'something new', key: 'go.ffffffff' })).toBe('something new');
    expect(goText(undefined, 'the English')).toBe('the English');
    expect(asSentence('impossible de lire : x')).toBe('Impossible de lire : x.');
    expect(asSentence('/tmp/a.wav: x')).toBe('/tmp/a.wav: x.');
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
