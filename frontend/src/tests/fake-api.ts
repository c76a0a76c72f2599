// A stand-in for src/lib/api.ts: every call is a vi.fn the test steers, and
// the two event streams can be fired by hand. Use it from a vi.mock factory:
//   vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());
import { vi } from 'vitest';
import type { Progress, ServerStatus, Settings, TranscribeResult } from '../lib/api';

type Handler<T> = (payload: T) => void;

const progressHandlers = new Set<Handler<Progress>>();
const dropHandlers = new Set<Handler<string[]>>();

export const api = {
  getDefaults: vi.fn<() => Promise<Settings>>(),
  pickAudioFile: vi.fn<() => Promise<string>>(),
  transcribeFile: vi.fn<(path: string, server: string, model: string) => Promise<TranscribeResult>>(),
  getServerStatus: vi.fn<(server: string) => Promise<ServerStatus>>(),
  onProgress: vi.fn((h: Handler<Progress>) => {
    progressHandlers.add(h);
    return () => progressHandlers.delete(h);
  }),
  onFilesDropped: vi.fn((h: Handler<string[]>) => {
    dropHandlers.add(h);
    return () => dropHandlers.delete(h);
  }),
};

export function fakeApi() {
  return {
    ...api,
    EVENT_PROGRESS: 'transcribe:progress',
    EVENT_FILES_DROPPED: 'files:dropped',
    toError: (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  };
}

export function emitProgress(p: Progress): void {
  for (const h of progressHandlers) h(p);
}

export function emitDrop(paths: string[]): void {
  for (const h of dropHandlers) h(paths);
}

export function listenerCount(): number {
  return progressHandlers.size + dropHandlers.size;
}

/** Resets the fakes to a server that answers and an engine that works. */
export function resetApi(): void {
  vi.clearAllMocks();
  progressHandlers.clear();
  dropHandlers.clear();
  api.getDefaults.mockResolvedValue({ server: 'localhost:8001', model: 'parakeet-tdt-0.6b-v2' });
  api.pickAudioFile.mockResolvedValue('');
  api.transcribeFile.mockResolvedValue(result());
  api.getServerStatus.mockResolvedValue(status());
}

/** A promise whose settling the test controls. */
export function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function result(): TranscribeResult {
  return {
    outputs: [],
    transcript: {
      source: '/audio/take 1.wav',
      sha256: 'ab12',
      duration: 75.4,
      model: 'parakeet-tdt-0.6b-v2',
      text: 'Hello there. General Kenobi.',
      segments: [
        { start: 0.24, end: 1.9, text: 'Hello there.', words: [] },
        { start: 62.96, end: 64.5, text: 'General Kenobi.', words: [] },
      ],
    },
  };
}

export function status(): ServerStatus {
  return {
    address: 'localhost:8001',
    live: true,
    ready: true,
    name: 'triton',
    version: '2.50.0',
    tls: false,
    models: [
      model('parakeet-tdt-0.6b-v2', true, 'READY'),
      model('dtmf', false, 'UNAVAILABLE'),
    ],
  };
}

function model(name: string, ready: boolean, state: string): ServerStatus['models'][number] {
  return {
    name,
    ready,
    state,
    versions: ['1'],
    inference_count: 0,
    execution_count: 0,
    success_count: 0,
    failure_count: 0,
    queue_ns: 0,
    compute_infer_ns: 0,
    compute_input_ns: 0,
    compute_output_ns: 0,
    last_inference_ms: 0,
  };
}
