// The frontend's only door to Go. Everything else imports from here, never
// from wailsjs/: this module gives the bound methods typed names, turns the
// plain strings their promises reject with into Error objects, and wraps
// the event subscriptions.
import * as App from '../../wailsjs/go/main/App';
import { EventsOn } from '../../wailsjs/runtime/runtime';
import type { inference, main, transcribe, transcript } from '../../wailsjs/go/models';

export type Settings = main.Settings;
export type ServerStatus = inference.ServerStatus;
export type ModelStatus = inference.ModelStatus;
export type TranscribeResult = transcribe.Result;
export type Transcript = transcript.Transcript;
export type Segment = transcript.Segment;
export type Word = transcript.Word;

/** A step of one file's journey (Go: transcribe.Stage). */
export type Stage =
  | 'queued'
  | 'staging'
  | 'decoding'
  | 'transcribing'
  | 'exporting'
  | 'done'
  | 'failed';

/** Where one file is (Go: transcribe.Progress). Fraction runs 0..1. */
export interface Progress {
  path: string;
  stage: Stage;
  chunksDone: number;
  /** 0 while unknown. */
  chunksTotal: number;
  fraction: number;
}

/** Event names, as app.go emits them. */
export const EVENT_PROGRESS = 'transcribe:progress';
export const EVENT_FILES_DROPPED = 'files:dropped';

/** Turns whatever a bound method rejected with into an Error. */
export function toError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  if (typeof reason === 'string' && reason.trim() !== '') return new Error(reason);
  if (reason && typeof reason === 'object' && 'message' in reason) {
    return new Error(String((reason as { message: unknown }).message));
  }
  return new Error('Something went wrong.');
}

async function call<T>(method: () => Promise<T>): Promise<T> {
  try {
    return await method();
  } catch (reason) {
    throw toError(reason);
  }
}

/** The server and model the UI starts with. */
export function getDefaults(): Promise<Settings> {
  return call(() => App.Defaults());
}

/** Shows the native open dialog; resolves to '' when the user cancels. */
export function pickAudioFile(): Promise<string> {
  return call(() => App.PickAudioFile());
}

/** Transcribes one file; progress arrives through onProgress. */
export function transcribeFile(path: string, server: string, model: string): Promise<TranscribeResult> {
  return call(() => App.Transcribe(path, server, model));
}

/** Asks a server whether it is live and ready, and which models it has. */
export function getServerStatus(server: string): Promise<ServerStatus> {
  return call(() => App.ServerStatus(server));
}

type Unsubscribe = () => void;

function subscribe<T>(event: string, handler: (payload: T) => void): Unsubscribe {
  // Outside the Wails window (a plain browser on `npm run dev`) there is no
  // runtime to listen to; nothing will ever arrive, so listen to nothing.
  if (typeof window === 'undefined' || !('runtime' in window)) return () => {};
  return EventsOn(event, (payload: T) => handler(payload));
}

/** Calls handler for every progress report; returns the unsubscribe. */
export function onProgress(handler: (progress: Progress) => void): Unsubscribe {
  return subscribe<Progress>(EVENT_PROGRESS, handler);
}

/** Calls handler with the paths of files dropped on the window. */
export function onFilesDropped(handler: (paths: string[]) => void): Unsubscribe {
  return subscribe<string[]>(EVENT_FILES_DROPPED, (paths) => handler(paths ?? []));
}
