// The frontend's only door to Go. Everything else imports from here, never
// from wailsjs/: this module gives the bound methods typed names, turns the
// plain strings their promises reject with into Error objects, and wraps
// the event subscriptions.
import * as App from '../../wailsjs/go/main/App';
import { EventsOn } from '../../wailsjs/runtime/runtime';
import { t } from './i18n/index.svelte';
import { asSentence, goText, isGoText, type GoText } from './i18n/gotext';

// The types come from the bound methods themselves, not from the Go
// package that declares them, so a type moving between Go packages (as
// Settings from main to config) changes nothing here.
type Result<F extends (...args: never[]) => unknown> = Awaited<ReturnType<F>>;

export type Settings = Result<typeof App.GetSettings>;
export type AddResult = Result<typeof App.AddFiles>;
export type Skipped = AddResult['skipped'][number];
export type ServerStatus = Result<typeof App.ServerStatus>;
export type ModelStatus = ServerStatus['models'][number];
export type TranscribeResult = Result<typeof App.JobResult>;
export type Transcript = Result<typeof App.HistoryTranscript>;
export type Segment = Transcript['segments'][number];
export type Word = Segment['words'][number];
type RawJob = Result<typeof App.Jobs>[number];

/** A step of one file's journey (Go: transcribe.Stage). */
export type Stage =
  | 'queued'
  | 'staging'
  | 'decoding'
  | 'transcribing'
  | 'exporting'
  | 'done'
  | 'failed'
  | 'cancelled';

/** Where one file is (Go: transcribe.Progress). Fraction runs 0..1. */
export interface Progress {
  jobId?: number;
  path: string;
  stage: Stage;
  chunksDone: number;
  /** 0 while unknown. */
  chunksTotal: number;
  fraction: number;
  /** Seconds of audio per second of wall time; 0 while unknown. */
  realtimeFactor?: number;
  /** Seconds left; -1 while unknown. */
  etaSeconds?: number;
  audioSeconds?: number;
  note?: string;
  /** note with its catalog key (Go: apperr.Text). */
  noteText?: GoText;
}

/** One file in the queue (Go: transcribe.Job). */
export interface Job extends Omit<RawJob, 'state' | 'progress'> {
  state: Stage;
  progress: Progress;
}

/** A change in the queue (Go: transcribe.Event). */
export interface QueueEvent {
  kind: 'added' | 'updated' | 'removed';
  job: Job;
}

/** Event names, as app.go emits them. */
export const EVENT_QUEUE = 'queue:event';
export const EVENT_FILES_ADDED = 'files:added';

/** An error Go reported: its English sentence, apperr's code and the
 * sentence for the catalog (shown in the UI's language as the message). */
export class GoError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly english: string,
    readonly text?: GoText,
  ) {
    super(message);
    this.name = 'GoError';
  }
}

/** Turns whatever a bound method rejected with into an Error. Go's
 * rejections (app.go formatError) are {message, code, text} — or that as
 * a JSON string — and read in the UI's language. */
export function toError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  if (typeof reason === 'string' && reason.trim().startsWith('{')) {
    try {
      reason = JSON.parse(reason);
    } catch {
      // a sentence that starts with a brace: shown as it is
    }
  }
  if (typeof reason === 'string' && reason.trim() !== '') return new Error(reason);
  if (reason && typeof reason === 'object' && 'message' in reason) {
    const r = reason as { message: unknown; code?: unknown; text?: unknown };
    const english = String(r.message);
    if (!isGoText(r.text)) return new Error(english);
    const local = goText(r.text, '');
    const message = r.text.key && local !== r.text.text ? asSentence(local) : english;
    return new GoError(message, String(r.code ?? ''), english, r.text);
  }
  return new Error(t('error.unknown'));
}

async function call<T>(method: () => Promise<T>): Promise<T> {
  try {
    return await method();
  } catch (reason) {
    throw toError(reason);
  }
}

/** The settings saved last time (the defaults on a first start). */
export function getSettings(): Promise<Settings> {
  return call(() => App.GetSettings());
}

/** Whether settings were ever saved (false on a first start: the
 * connection step shows). */
export function settingsSaved(): Promise<boolean> {
  return call(() => App.SettingsSaved());
}

/** Checks and saves settings; resolves to what was saved. */
export function saveSettings(s: Settings): Promise<Settings> {
  return call(() => App.SaveSettings(s));
}

/** Asks a server whether it is live and ready, and which models it has. */
export function getServerStatus(server: string): Promise<ServerStatus> {
  return call(() => App.ServerStatus(server));
}

/** Queues files and folders (walked) with the saved settings. */
export function addFiles(paths: string[]): Promise<AddResult> {
  return call(() => App.AddFiles(paths));
}

/** Shows the native open dialog and queues what the user chose. */
export function pickFiles(): Promise<AddResult> {
  return call(() => App.PickFiles());
}

/** The queue, oldest first. */
export async function listJobs(): Promise<Job[]> {
  return ((await call(() => App.Jobs())) ?? []) as Job[];
}

/** A finished job's transcript. */
export function jobResult(id: number): Promise<TranscribeResult> {
  return call(() => App.JobResult(id));
}

export function cancelJob(id: number): Promise<void> {
  return call(() => App.CancelJob(id));
}

export function cancelAll(): Promise<void> {
  return call(() => App.CancelAll());
}

export function retryJob(id: number): Promise<void> {
  return call(() => App.RetryJob(id));
}

/** Retries a job that failed on existing output files, replacing them. */
export function retryWithOverwrite(id: number): Promise<void> {
  return call(() => App.RetryWithOverwrite(id));
}

export function removeJob(id: number): Promise<void> {
  return call(() => App.RemoveJob(id));
}

export function removeFinished(): Promise<void> {
  return call(() => App.RemoveFinished());
}

type Unsubscribe = () => void;

function subscribe<T>(event: string, handler: (payload: T) => void): Unsubscribe {
  // Outside the Wails window (a plain browser on `npm run dev`) there is no
  // runtime to listen to; nothing will ever arrive, so listen to nothing.
  if (typeof window === 'undefined' || !('runtime' in window)) return () => {};
  return EventsOn(event, (payload: T) => handler(payload));
}

/** Calls handler for every change in the queue; returns the unsubscribe. */
export function onQueueEvent(handler: (ev: QueueEvent) => void): Unsubscribe {
  return subscribe<QueueEvent>(EVENT_QUEUE, handler);
}

/** Calls handler with what became of files dropped on the window. */
export function onFilesAdded(handler: (res: AddResult) => void): Unsubscribe {
  return subscribe<AddResult>(EVENT_FILES_ADDED, (res) => handler(res ?? { added: [], skipped: [] }));
}

export type AudioData = Result<typeof App.AudioSamples>;

/** A job's audio as 16 kHz mono PCM (base64) and its waveform's peaks. */
export function audioSamples(id: number): Promise<AudioData> {
  return call(() => App.AudioSamples(id));
}

/** A past transcript's audio, while its source file is there unchanged. */
export function historyAudioSamples(historyId: number): Promise<AudioData> {
  return call(() => App.HistoryAudioSamples(historyId));
}

/** Keeps an edited segment text in the history entry. */
export function editSegment(historyId: number, index: number, text: string): Promise<void> {
  return call(() => App.EditSegment(historyId, index, text));
}

export type ExportResult = Result<typeof App.Export>;

/** Writes finished jobs' transcripts; outDir '' = next to each source. */
export function exportJobs(ids: number[], formats: string[], outDir: string, overwrite: boolean): Promise<ExportResult> {
  return call(() => App.Export(ids, formats, outDir, overwrite));
}

/** Writes past transcripts (history ids); outDir '' = next to each source. */
export function exportHistory(ids: number[], formats: string[], outDir: string, overwrite: boolean): Promise<ExportResult> {
  return call(() => App.ExportHistory(ids, formats, outDir, overwrite));
}

/** Shows a folder in the file manager. */
export function openFolder(dir: string): Promise<void> {
  return call(() => App.OpenFolder(dir));
}

/** The native folder dialog; '' when cancelled. */
export function pickFolder(): Promise<string> {
  return call(() => App.PickFolder());
}

export type HistoryHit = Result<typeof App.History>[number];

/** Past transcripts, newest first; with a query, full-text matches. */
export async function history(query: string): Promise<HistoryHit[]> {
  return (await call(() => App.History(query))) ?? [];
}

/** A past transcript with the user's edits. */
export function historyTranscript(id: number): Promise<Transcript> {
  return call(() => App.HistoryTranscript(id));
}

export function deleteHistory(id: number): Promise<void> {
  return call(() => App.DeleteHistory(id));
}

/** Writes a diagnostics zip (logs, versions, settings) into dir; its path. */
export function exportDiagnostics(dir: string): Promise<string> {
  return call(() => App.ExportDiagnostics(dir));
}

/** Adds an extra header (its value goes to the keyring); '' removes it. */
export function setHeader(name: string, value: string): Promise<Settings> {
  return call(() => App.SetHeader(name, value));
}

/** The native folder dialog for the cache folder; '' when cancelled. */
export function pickCacheFolder(): Promise<string> {
  return call(() => App.PickCacheFolder());
}

/** Which certificate file a dialog asks for. */
export type PEMKind = 'ca' | 'cert' | 'key';

/** The native open dialog for a PEM file; '' when cancelled. */
export function pickPEMFile(kind: PEMKind): Promise<string> {
  return call(() => App.PickPEMFile(kind));
}

/** Checks the key in keyFile against certFile and keeps it in the keyring. */
export function setClientKey(certFile: string, keyFile: string): Promise<Settings> {
  return call(() => App.SetClientKey(certFile, keyFile));
}

/** Stops sending a client certificate; its key leaves the keyring. */
export function removeClientCert(): Promise<Settings> {
  return call(() => App.RemoveClientCert());
}

export type FFmpegInfo = Result<typeof App.FFmpegStatus>;

/** Whether the ffmpeg at path ('' = the default) can be run. */
export function ffmpegStatus(path: string): Promise<FFmpegInfo> {
  return call(() => App.FFmpegStatus(path));
}

// Local server

export type LocalReport = Result<typeof App.LocalServerDetect>;
export type LocalCheck = LocalReport['checks'][number];
export type LocalModel = Result<typeof App.LocalServerModels>[number];
export type LocalStatus = Result<typeof App.LocalServerStatus>;
export type LocalStartOptions = Parameters<typeof App.LocalServerStart>[0];
export type LocalProfile = 'gpu' | 'cpu';

/** A step of the local server's first start (Go: localserver.Phase). */
export type LocalPhase = 'prepare' | 'image_download' | 'image_build' | 'container' | 'model_download' | 'loading' | 'ready';

/** One progress event of a Start or Restart (Go: localserver.Progress). */
export interface LocalProgress {
  phase: LocalPhase;
  /** Go's sentence, in English. */
  message: string;
  model?: string;
  /** Bytes of a download when known. */
  done?: number;
  total?: number;
  step?: number;
  steps?: number;
  /** Set with 'ready': where the server setting now points. */
  address?: string;
  /** The order Go sent it in (events may arrive out of order), from 1 per operation. */
  seq?: number;
}

export const EVENT_LOCAL_PROGRESS = 'localserver:progress';

/** What the local server needs and what was found (runs docker and nvidia-smi). */
export function localDetect(): Promise<LocalReport> {
  return call(() => App.LocalServerDetect());
}

/** The models the local server can load with a profile. */
export async function localModels(profile: LocalProfile): Promise<LocalModel[]> {
  return (await call(() => App.LocalServerModels(profile))) ?? [];
}

/** Starts the local server; resolves when it is ready, to the settings
 * now pointing at it. Progress arrives through onLocalProgress. */
export function localStart(opts: LocalStartOptions): Promise<Settings> {
  return call(() => App.LocalServerStart(opts));
}

export function localRestart(): Promise<void> {
  return call(() => App.LocalServerRestart());
}

export function localStop(): Promise<void> {
  return call(() => App.LocalServerStop());
}

/** Removes the containers and, with withCache, the model cache. */
export function localRemove(withCache: boolean): Promise<void> {
  return call(() => App.LocalServerRemove(withCache));
}

/** The last lines of the local server's log. */
export function localLogs(lines: number): Promise<string> {
  return call(() => App.LocalServerLogs(lines));
}

export function localStatus(): Promise<LocalStatus> {
  return call(() => App.LocalServerStatus());
}

/** Whether addr ('' = the saved server) is the local server started last (no docker call). */
export function isLocalServer(addr: string): Promise<boolean> {
  return call(() => App.IsLocalServer(addr));
}

/** Calls handler with each step of a local server's start. */
export function onLocalProgress(handler: (p: LocalProgress) => void): Unsubscribe {
  return subscribe<LocalProgress>(EVENT_LOCAL_PROGRESS, handler);
}

// Speakers

export type Speaker = NonNullable<Transcript['speakers']>[number];
/** Who said what, without the text (Go: speakers.Snapshot): the undo of a speaker edit. */
export type SpeakerSnapshot = Parameters<typeof App.RestoreSpeakers>[1];

/** Saves the Speakers choice for files added from now on ('' off, 'auto', or a count). */
export function setSpeakers(choice: string): Promise<Settings> {
  return call(() => App.SetSpeakers(choice));
}

/** Names a speaker once for the whole transcript; resolves to the transcript as kept. */
export function renameSpeaker(historyId: number, old: string, label: string): Promise<Transcript> {
  return call(() => App.RenameSpeaker(historyId, old, label));
}

/** Makes speaker `from` into speaker `into`. */
export function mergeSpeakers(historyId: number, into: string, from: string): Promise<Transcript> {
  return call(() => App.MergeSpeakers(historyId, into, from));
}

/** Gives one segment to another speaker. */
export function setSegmentSpeaker(historyId: number, index: number, speaker: string): Promise<Transcript> {
  return call(() => App.SetSegmentSpeaker(historyId, index, speaker));
}

/** Puts back who said what as a snapshot recorded it (undo and redo). */
export function restoreSpeakers(historyId: number, snap: SpeakerSnapshot): Promise<Transcript> {
  return call(() => App.RestoreSpeakers(historyId, snap));
}

/** A "Find speakers" run's step (Go: main.SpeakersProgress). */
export interface SpeakersProgress {
  historyId: number;
  progress: Progress;
}

export const EVENT_SPEAKERS_PROGRESS = 'speakers:progress';

/** Finds the speakers of a transcript in the history ('auto' or a count), without transcribing again. */
export function findSpeakers(historyId: number, choice: string): Promise<Transcript> {
  return call(() => App.FindSpeakers(historyId, choice));
}

export function cancelFindSpeakers(historyId: number): Promise<void> {
  return call(() => App.CancelFindSpeakers(historyId));
}

/** Calls handler with each step of a "Find speakers" run. */
export function onSpeakersProgress(handler: (p: SpeakersProgress) => void): Unsubscribe {
  return subscribe<SpeakersProgress>(EVENT_SPEAKERS_PROGRESS, handler);
}

// Live

export type LiveInfo = Result<typeof App.LiveStart>;
export type LiveStopped = Result<typeof App.LiveStop>;
export type LiveRecovered = Result<typeof App.LiveRecovered>[number];

/** One event of the running live session (Go: main.LiveEvent). */
export interface LiveEvent {
  session: string;
  type: 'partial' | 'final' | 'level' | 'status';
  utterance: number;
  start: number;
  end: number;
  text?: string;
  words?: Word[];
  latency_ms?: number;
  pause_ms?: number;
  split?: boolean;
  level?: number;
  peak?: number;
  voice?: boolean;
  /** For status: offline, online, failed, storage, recovery. */
  status?: string;
  message?: string;
  pending?: number;
}

export const EVENT_LIVE = 'live:event';

/** Starts a live session on the saved server and model. */
export function liveStart(): Promise<LiveInfo> {
  return call(() => App.LiveStart());
}

/** Sends the next frames: 16 kHz mono PCM16, base64 (Go takes []byte as base64). */
export function liveFeed(id: string, pcm16Base64: string): Promise<void> {
  return call(() => App.LiveFeed(id, pcm16Base64 as unknown as number[]));
}

export function livePause(id: string): Promise<void> {
  return call(() => App.LivePause(id));
}

export function liveResume(id: string): Promise<void> {
  return call(() => App.LiveResume(id));
}

/** Ends the session; it is saved as a history entry. */
export function liveStop(id: string): Promise<LiveStopped> {
  return call(() => App.LiveStop(id));
}

/** Sessions a crash interrupted that this start saved (told once). */
export async function liveRecovered(): Promise<LiveRecovered[]> {
  return (await call(() => App.LiveRecovered())) ?? [];
}

export function onLiveEvent(handler: (ev: LiveEvent) => void): Unsubscribe {
  return subscribe<LiveEvent>(EVENT_LIVE, handler);
}
