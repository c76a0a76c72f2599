import { beforeEach, describe, expect, it, vi } from 'vitest';
import { api, deferred, emitDrop, emitProgress, listenerCount, resetApi, result, status } from './fake-api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import { TranscriberState } from '../lib/state/transcriber.svelte';

let app: TranscriberState;

beforeEach(() => {
  resetApi();
  app = new TranscriberState();
});

describe('start', () => {
  it('fills the defaults and stops listening when asked', async () => {
    const stop = app.start();
    await vi.waitFor(() => expect(app.server).toBe('localhost:8001'));
    expect(app.model).toBe('parakeet-tdt-0.6b-v2');
    expect(listenerCount()).toBe(2);
    stop();
    expect(listenerCount()).toBe(0);
  });

  it('keeps what the user typed before the defaults arrived', async () => {
    app.server = 'gpu:8001';
    await app.loadDefaults();
    expect(app.server).toBe('gpu:8001');
    expect(app.model).toBe('parakeet-tdt-0.6b-v2');
  });

  it('shows a failure to load the defaults', async () => {
    api.getDefaults.mockRejectedValue(new Error('No bridge.'));
    await app.loadDefaults();
    expect(app.error).toBe('No bridge.');
  });
});

describe('choosing a file', () => {
  it.each([
    { name: 'one dropped file', paths: ['/a.wav'], file: '/a.wav', notice: '' },
    { name: 'blank paths are skipped', paths: ['', '/b.wav'], file: '/b.wav', notice: '' },
    {
      name: 'several files: the first is kept and the user told',
      paths: ['/a.wav', '/b.wav', '/c.wav'],
      file: '/a.wav',
      notice: 'One file at a time for now: using the first of the 3 dropped.',
    },
    { name: 'nothing usable changes nothing', paths: [' '], file: '/old.wav', notice: '' },
  ])('$name', ({ paths, file, notice }) => {
    app.file = '/old.wav';
    app.selectFiles(paths);
    expect(app.file).toBe(file);
    expect(app.notice).toBe(notice);
  });

  it('takes drops from the files:dropped event', () => {
    app.start();
    emitDrop(['/dropped.wav']);
    expect(app.file).toBe('/dropped.wav');
  });

  it('a new file clears the last result and error', () => {
    app.result = result();
    app.error = 'Old failure.';
    app.selectFiles(['/new.wav']);
    expect(app.result).toBeNull();
    expect(app.error).toBe('');
  });

  it('ignores drops while a file is being transcribed', () => {
    app.file = '/a.wav';
    app.running = true;
    app.selectFiles(['/b.wav']);
    expect(app.file).toBe('/a.wav');
  });

  it.each([
    { name: 'picked', picked: '/picked.wav', want: '/picked.wav' },
    { name: 'cancelled', picked: '', want: '/old.wav' },
  ])('dialog: $name', async ({ picked, want }) => {
    app.file = '/old.wav';
    api.pickAudioFile.mockResolvedValue(picked);
    await app.chooseFile();
    expect(app.file).toBe(want);
  });

  it('dialog failure is shown', async () => {
    api.pickAudioFile.mockRejectedValue(new Error('The window is not ready yet.'));
    await app.chooseFile();
    expect(app.error).toBe('The window is not ready yet.');
  });
});

describe('canTranscribe', () => {
  it.each([
    { name: 'all set', file: '/a.wav', server: 's:1', model: 'm', running: false, want: true },
    { name: 'no file', file: '', server: 's:1', model: 'm', running: false, want: false },
    { name: 'no server', file: '/a.wav', server: '  ', model: 'm', running: false, want: false },
    { name: 'no model', file: '/a.wav', server: 's:1', model: '', running: false, want: false },
    { name: 'already running', file: '/a.wav', server: 's:1', model: 'm', running: true, want: false },
  ])('$name: $want', ({ file, server, model, running, want }) => {
    Object.assign(app, { file, server, model, running });
    expect(app.canTranscribe).toBe(want);
  });
});

describe('transcribe', () => {
  beforeEach(() => {
    Object.assign(app, { file: '/a.wav', server: ' s:1 ', model: 'm ' });
  });

  it('runs, follows progress for its file and keeps the result', async () => {
    const job = deferred<ReturnType<typeof result>>();
    api.transcribeFile.mockReturnValue(job.promise);
    app.start();
    const done = app.transcribe();

    expect(api.transcribeFile).toHaveBeenCalledWith('/a.wav', 's:1', 'm');
    expect(app.running).toBe(true);
    expect(app.canTranscribe).toBe(false);
    expect(app.progress?.stage).toBe('queued');

    emitProgress({ path: '/a.wav', stage: 'transcribing', chunksDone: 2, chunksTotal: 5, fraction: 0.5 });
    expect(app.progress).toMatchObject({ stage: 'transcribing', chunksDone: 2, chunksTotal: 5 });
    emitProgress({ path: '/other.wav', stage: 'decoding', chunksDone: 0, chunksTotal: 0, fraction: 0.1 });
    expect(app.progress?.path).toBe('/a.wav');

    job.resolve(result());
    await done;
    expect(app.running).toBe(false);
    expect(app.result?.transcript.segments).toHaveLength(2);
    expect(app.progress).toMatchObject({ stage: 'done', fraction: 1 });
    expect(app.error).toBe('');

    emitProgress({ path: '/a.wav', stage: 'transcribing', chunksDone: 4, chunksTotal: 5, fraction: 0.9 });
    expect(app.progress?.stage).toBe('done');
  });

  it('shows the error and clears the progress when the job fails', async () => {
    api.transcribeFile.mockRejectedValue(new Error('Transcribe: engine under construction.'));
    await app.transcribe();
    expect(app.error).toBe('Transcribe: engine under construction.');
    expect(app.progress).toBeNull();
    expect(app.result).toBeNull();
    expect(app.running).toBe(false);
  });

  it('does nothing without a file', async () => {
    app.file = '';
    await app.transcribe();
    expect(api.transcribeFile).not.toHaveBeenCalled();
  });
});

describe('checkServer', () => {
  it('keeps the status and finds the chosen model in it', async () => {
    app.server = ' localhost:8001 ';
    app.model = 'parakeet-tdt-0.6b-v2';
    await app.checkServer();
    expect(api.getServerStatus).toHaveBeenCalledWith('localhost:8001');
    expect(app.status).toEqual(status());
    expect(app.modelOnServer?.ready).toBe(true);
    app.model = 'nope';
    expect(app.modelOnServer).toBeNull();
  });

  it('replaces an old status with the error', async () => {
    app.status = status();
    api.getServerStatus.mockRejectedValue(new Error('The server at x:1 did not answer within 10s.'));
    await app.checkServer();
    expect(app.status).toBeNull();
    expect(app.statusError).toBe('The server at x:1 did not answer within 10s.');
    expect(app.checking).toBe(false);
  });

  it('runs one check at a time', async () => {
    const answer = deferred<ReturnType<typeof status>>();
    api.getServerStatus.mockReturnValue(answer.promise);
    const first = app.checkServer();
    expect(app.checking).toBe(true);
    await app.checkServer();
    expect(api.getServerStatus).toHaveBeenCalledTimes(1);
    answer.resolve(status());
    await first;
    expect(app.checking).toBe(false);
  });
});

it('reset empties everything', () => {
  Object.assign(app, { server: 's', model: 'm', file: '/a.wav', error: 'x', status: status(), result: result() });
  app.reset();
  expect([app.server, app.model, app.file, app.error, app.status, app.result]).toEqual(['', '', '', '', null, null]);
});
