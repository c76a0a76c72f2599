// A stand-in for src/lib/api.ts: every call is a vi.fn the test steers, and
// the two event streams can be fired by hand. Use it from a vi.mock factory:
//   vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());
import { vi } from 'vitest';
import type { AddResult, AudioData, ExportResult, HistoryHit, Job, Transcript, QueueEvent, ServerStatus, Settings, Stage, TranscribeResult } from '../lib/api';
import type { LocalModel, LocalProgress, LocalReport, LocalStartOptions, LocalStatus } from '../lib/api';
import type { SpeakerSnapshot, SpeakersProgress } from '../lib/api';
import type { LiveEvent, LiveInfo, LiveRecovered, LiveStopped } from '../lib/api';

type Handler<T> = (payload: T) => void;

const queueHandlers = new Set<Handler<QueueEvent>>();
const speakersHandlers = new Set<Handler<SpeakersProgress>>();
const addedHandlers = new Set<Handler<AddResult>>();
const localHandlers = new Set<Handler<LocalProgress>>();
const liveHandlers = new Set<Handler<LiveEvent>>();

/** Sends a local server progress event to the page's listeners. */
export function emitLocalProgress(p: LocalProgress): void {
  for (const h of localHandlers) h(p);
}

export const api = {
  getSettings: vi.fn<() => Promise<Settings>>(),
  saveSettings: vi.fn<(s: Settings) => Promise<Settings>>(),
  settingsSaved: vi.fn<() => Promise<boolean>>(),
  getServerStatus: vi.fn<(server: string) => Promise<ServerStatus>>(),
  addFiles: vi.fn<(paths: string[]) => Promise<AddResult>>(),
  pickFiles: vi.fn<() => Promise<AddResult>>(),
  listJobs: vi.fn<() => Promise<Job[]>>(),
  jobResult: vi.fn<(id: number) => Promise<TranscribeResult>>(),
  cancelJob: vi.fn<(id: number) => Promise<void>>(),
  cancelAll: vi.fn<() => Promise<void>>(),
  retryJob: vi.fn<(id: number) => Promise<void>>(),
  retryWithOverwrite: vi.fn<(id: number) => Promise<void>>(),
  removeJob: vi.fn<(id: number) => Promise<void>>(),
  removeFinished: vi.fn<() => Promise<void>>(),
  audioSamples: vi.fn<(id: number) => Promise<AudioData>>(),
  historyAudioSamples: vi.fn<(historyId: number) => Promise<AudioData>>(),
  editSegment: vi.fn<(historyId: number, index: number, text: string) => Promise<void>>(),
  exportJobs: vi.fn<(ids: number[], formats: string[], outDir: string, overwrite: boolean) => Promise<ExportResult>>(),
  exportHistory: vi.fn<(ids: number[], formats: string[], outDir: string, overwrite: boolean) => Promise<ExportResult>>(),
  openFolder: vi.fn<(dir: string) => Promise<void>>(),
  pickFolder: vi.fn<() => Promise<string>>(),
  history: vi.fn<(query: string) => Promise<HistoryHit[]>>(),
  historyTranscript: vi.fn<(id: number) => Promise<Transcript>>(),
  deleteHistory: vi.fn<(id: number) => Promise<void>>(),
  exportDiagnostics: vi.fn<(dir: string) => Promise<string>>(),
  setHeader: vi.fn<(name: string, value: string) => Promise<Settings>>(),
  ffmpegStatus: vi.fn<(path: string) => Promise<{ found: boolean; path: string }>>(),
  // Local server
  localDetect: vi.fn<() => Promise<LocalReport>>(),
  localModels: vi.fn<(profile: string) => Promise<LocalModel[]>>(),
  localStart: vi.fn<(opts: LocalStartOptions) => Promise<Settings>>(),
  localRestart: vi.fn<() => Promise<void>>(),
  localStop: vi.fn<() => Promise<void>>(),
  localRemove: vi.fn<(withCache: boolean) => Promise<void>>(),
  localLogs: vi.fn<(lines: number) => Promise<string>>(),
  localStatus: vi.fn<() => Promise<LocalStatus>>(),
  isLocalServer: vi.fn<(addr: string) => Promise<boolean>>(),
  onLocalProgress: vi.fn((h: Handler<LocalProgress>) => {
    localHandlers.add(h);
    return () => localHandlers.delete(h);
  }),
  // Speakers
  setSpeakers: vi.fn<(choice: string) => Promise<Settings>>(),
  renameSpeaker: vi.fn<(historyId: number, old: string, label: string) => Promise<Transcript>>(),
  mergeSpeakers: vi.fn<(historyId: number, into: string, from: string) => Promise<Transcript>>(),
  setSegmentSpeaker: vi.fn<(historyId: number, index: number, speaker: string) => Promise<Transcript>>(),
  restoreSpeakers: vi.fn<(historyId: number, snap: SpeakerSnapshot) => Promise<Transcript>>(),
  findSpeakers: vi.fn<(historyId: number, choice: string) => Promise<Transcript>>(),
  cancelFindSpeakers: vi.fn<(historyId: number) => Promise<void>>(),
  onSpeakersProgress: vi.fn((h: Handler<SpeakersProgress>) => {
    speakersHandlers.add(h);
    return () => speakersHandlers.delete(h);
  }),
  onQueueEvent: vi.fn((h: Handler<QueueEvent>) => {
    queueHandlers.add(h);
    return () => queueHandlers.delete(h);
  }),
  onFilesAdded: vi.fn((h: Handler<AddResult>) => {
    addedHandlers.add(h);
    return () => addedHandlers.delete(h);
  }),
  // Live
  liveStart: vi.fn<() => Promise<LiveInfo>>(),
  liveFeed: vi.fn<(id: string, pcm16Base64: string) => Promise<void>>(),
  livePause: vi.fn<(id: string) => Promise<void>>(),
  liveResume: vi.fn<(id: string) => Promise<void>>(),
  liveStop: vi.fn<(id: string) => Promise<LiveStopped>>(),
  liveRecovered: vi.fn<() => Promise<LiveRecovered[]>>(async () => []),
  onLiveEvent: vi.fn((h: Handler<LiveEvent>) => {
    liveHandlers.add(h);
    return () => liveHandlers.delete(h);
  }),
};

export function emitLive(ev: LiveEvent): void {
  for (const h of liveHandlers) h(ev);
}

export function liveListeners(): number {
  return liveHandlers.size;
}

export function fakeApi() {
  return {
    ...api,
    EVENT_QUEUE: 'queue:event',
    EVENT_FILES_ADDED: 'files:added',
    EVENT_LOCAL_PROGRESS: 'localserver:progress',
    EVENT_SPEAKERS_PROGRESS: 'speakers:progress',
    EVENT_LIVE: 'live:event',
    toError: (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  };
}

export function emitSpeakersProgress(p: SpeakersProgress): void {
  for (const h of speakersHandlers) h(p);
}

export function emitQueue(ev: QueueEvent): void {
  for (const h of queueHandlers) h(ev);
}

export function emitAdded(res: AddResult): void {
  for (const h of addedHandlers) h(res);
}

export function listenerCount(): number {
  return queueHandlers.size + addedHandlers.size;
}

export function settings(over: Partial<Settings> = {}): Settings {
  return {
    server: 'localhost:8001',
    model: 'parakeet-tdt-0.6b-v2',
    timestamps: true,
    concurrency: 0,
    chunkSeconds: 0,
    language: '',
    task: '',
    cacheDir: '',
    ffmpegPath: '',
    cacheMaxMB: 0,
    notifications: true,
    tls: false,
    caFile: '',
    certFile: '',
    keyFile: '',
    serverName: '',
    headerNames: '',
    uiLanguage: '',
    ...over,
  };
}

/** A job in the given state; fraction 1 when done. */
export function job(id: number, state: Stage, over: Partial<Job> = {}): Job {
  const path = `/audio/take ${id}.wav`;
  return {
    id,
    request: { path, server: 'localhost:8001', model: 'parakeet-tdt-0.6b-v2', cacheDir: '', outDir: '', formats: [], timestamps: true },
    state,
    progress: { jobId: id, path, stage: state, chunksDone: 0, chunksTotal: 0, fraction: state === 'done' ? 1 : 0, etaSeconds: -1 },
    outputs: [],
    attempts: 1,
    added: '2026-01-01T00:00:00Z',
    started: '',
    finished: '',
    ...over,
  };
}

/** Resets the fakes to a server that answers and an empty queue. */
export function resetApi(): void {
  vi.clearAllMocks();
  queueHandlers.clear();
  speakersHandlers.clear();
  addedHandlers.clear();
  liveHandlers.clear();
  api.liveRecovered.mockResolvedValue([]);
  api.getSettings.mockResolvedValue(settings());
  api.settingsSaved.mockResolvedValue(true);
  api.saveSettings.mockImplementation(async (s) => ({ ...s, server: s.server.trim(), model: s.model.trim() }));
  api.getServerStatus.mockResolvedValue(status());
  api.addFiles.mockResolvedValue({ added: [], skipped: [] });
  api.pickFiles.mockResolvedValue({ added: [], skipped: [] });
  api.listJobs.mockResolvedValue([]);
  api.jobResult.mockResolvedValue(result());
  api.audioSamples.mockResolvedValue(audio());
  api.historyAudioSamples.mockResolvedValue(audio());
  api.exportJobs.mockResolvedValue({ written: ['/out/take 1.srt'], existing: [], failed: [], folders: ['/out'] });
  api.exportHistory.mockResolvedValue({ written: ['/out/talk.srt'], existing: [], failed: [], folders: ['/out'] });
  api.openFolder.mockResolvedValue(undefined);
  api.pickFolder.mockResolvedValue('');
  api.history.mockResolvedValue([]);
  api.historyTranscript.mockResolvedValue(result().transcript);
  api.deleteHistory.mockResolvedValue(undefined);
  api.exportDiagnostics.mockResolvedValue('/tmp/diag.zip');
  api.ffmpegStatus.mockResolvedValue({ found: true, path: '/usr/bin/ffmpeg' });
  api.setHeader.mockImplementation(async (name, value) => settings({ headerNames: value ? name : '' }));
  localHandlers.clear();
  api.isLocalServer.mockResolvedValue(false);
  api.localStatus.mockResolvedValue({ state: 'not_set_up', message: 'The local server has not been set up yet', label: 'local server', address: '127.0.0.1:8001', options: { models: [], profile: 'gpu', shareLAN: false, grpcPort: 8001, httpPort: 8000, metricsPort: 8002 }, container: '' });
  api.localModels.mockResolvedValue([]);
  for (const f of [api.localRestart, api.localStop, api.localRemove]) f.mockResolvedValue(undefined);
  api.localLogs.mockResolvedValue('');
  for (const f of [api.editSegment, api.cancelJob, api.cancelAll, api.retryJob, api.retryWithOverwrite, api.removeJob, api.removeFinished]) {
    f.mockResolvedValue(undefined);
  }
}

/** 80 s of silence but for two samples, and a flat waveform. */
export function audio(): AudioData {
  // 16-bit LE: 0x4000 = 0.5, 0xC000 = -0.5
  return { sampleRate: 16000, pcm: btoa('\x00\x40\x00\xC0'), duration: 80, peaks: [0.1, 0.5, 0.2] };
}

/** A fake Web Audio output whose clock the test moves. */
export class FakeOut {
  currentTime = 0;
  destination = {} as AudioNode;
  started: { when: number; offset: number }[] = [];
  stopped = 0;
  copied: Float32Array[] = [];
  resume = vi.fn(async () => {});
  createBuffer(_channels: number, length: number, rate: number): AudioBuffer {
    const copied = this.copied;
    return { length, sampleRate: rate, copyToChannel: (a: Float32Array) => copied.push(a) } as unknown as AudioBuffer;
  }
  createBufferSource(): AudioBufferSourceNode {
    const src = {
      buffer: null,
      onended: null,
      connect: () => {},
      start: (when: number, offset: number) => this.started.push({ when, offset }),
      stop: () => this.stopped++,
    };
    return src as unknown as AudioBufferSourceNode;
  }
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
    // Every state the backend reports (inference.ModelStatus).
    models: [
      { ...model('parakeet-tdt-0.6b-v2', true, 'READY'), instances: 2, audio_input: 'AUDIO', warnings: ['AUDIO_FLAC is declared but not BYTES: sending AUDIO.'] },
      { ...model('dtmf', false, 'UNAVAILABLE'), reason: "failed to load 'dtmf': no model.py in version 1" },
      model('canary-1b-flash', false, 'LOADING'),
      { ...model('parakeet-ctc-1.1b', false, ''), versions: [] },
      { ...model('titanet-large', true, 'READY'), instances: 1, kind: 'speaker_embedding' },
    ],
  };
}

export function model(name: string, ready: boolean, state: string): ServerStatus['models'][number] {
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
