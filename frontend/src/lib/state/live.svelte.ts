// The live session as the page sees it: the microphone, the frames on
// their way to Go (one LiveFeed in flight, in order), and the transcript
// growing from Go's events (finals in place, the open utterance's partial
// after them).
import * as api from '../api';
import type { LiveEvent, LiveRecovered } from '../api';
import { BrowserMicrophone, TARGET_RATE, level, listDevices, micError, platformOf, toPCM16Base64, type Device, type MicError, type Microphone } from '../capture';
import { t } from '../i18n/index.svelte';

export type LivePhase = 'idle' | 'starting' | 'recording' | 'paused' | 'stopping';

/** One line of the live transcript. */
export interface LiveLine {
  utterance: number;
  start: number;
  end: number;
  text: string;
  /** A partial: the open utterance as heard so far. */
  partial: boolean;
}

/** 100 ms of audio: how much one LiveFeed carries at most while Go keeps up. */
export const FRAME_SAMPLES = TARGET_RATE / 10;

/** Within this many pixels of the bottom counts as "at the bottom". */
export const FOLLOW_SLACK = 24;

/** The auto-scroll rule: follow the newest line while the view is at the bottom. */
export function atBottom(scrollTop: number, scrollHeight: number, clientHeight: number): boolean {
  return scrollHeight - (scrollTop + clientHeight) <= FOLLOW_SLACK;
}

/**
 * Merges one result event into the lines: a final replaces its utterance's
 * partial (or its earlier final: a split utterance keeps its pieces by
 * start) and stays; a partial shows after the finals until its final
 * comes. Returns the new lines (the old array is not changed).
 */
export function mergeResult(lines: LiveLine[], ev: LiveEvent): LiveLine[] {
  const text = (ev.text ?? '').trim();
  if (ev.type === 'partial') {
    // A partial that comes after its final (a slow answer) is stale.
    if (lines.some((l) => !l.partial && l.utterance === ev.utterance)) return lines;
    const rest = lines.filter((l) => !(l.partial && l.utterance === ev.utterance));
    if (text === '') return rest;
    return sortLines([...rest, { utterance: ev.utterance, start: ev.start, end: ev.end, text, partial: true }]);
  }
  if (ev.type !== 'final') return lines;
  const rest = lines.filter((l) => !(l.partial && l.utterance === ev.utterance) && !(!l.partial && l.utterance === ev.utterance && l.start === ev.start));
  if (text === '') return rest;
  return sortLines([...rest, { utterance: ev.utterance, start: ev.start, end: ev.end, text, partial: false }]);
}

function sortLines(lines: LiveLine[]): LiveLine[] {
  // Finals in time order; partials (the open utterance) after them.
  return lines.sort((a, b) => Number(a.partial) - Number(b.partial) || a.start - b.start || a.utterance - b.utterance);
}

/** Collects 16 kHz audio into frames and sends them one call at a time, in order. */
export class FrameSender {
  private pending: Float32Array[] = [];
  private pendingLen = 0;
  private inFlight: Promise<void> | null = null;
  /** Calls that took longest, for diagnostics: the slowest one's ms. */
  worstMs = 0;
  calls = 0;

  constructor(
    private readonly send: (b64: string) => Promise<void>,
    private readonly onError: (err: Error) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  push(x: Float32Array): void {
    this.pending.push(x);
    this.pendingLen += x.length;
    if (this.pendingLen >= FRAME_SAMPLES && !this.inFlight) this.next();
  }

  /** Sends what is left (even a short frame) and resolves when all is delivered. */
  async flush(): Promise<void> {
    while (this.inFlight || this.pendingLen > 0) {
      if (!this.inFlight) this.next();
      await this.inFlight;
    }
  }

  /** Forgets frames not sent yet. */
  drop(): void {
    this.pending = [];
    this.pendingLen = 0;
  }

  private next(): void {
    if (this.pendingLen === 0) return;
    // When Go fell behind, what waited goes in one call.
    const frame = new Float32Array(this.pendingLen);
    let at = 0;
    for (const p of this.pending) {
      frame.set(p, at);
      at += p.length;
    }
    this.drop();
    const started = this.now();
    this.calls++;
    this.inFlight = this.send(toPCM16Base64(frame))
      .catch((err: unknown) => this.onError(err instanceof Error ? err : new Error(String(err))))
      .finally(() => {
        this.worstMs = Math.max(this.worstMs, this.now() - started);
        this.inFlight = null;
        if (this.pendingLen >= FRAME_SAMPLES) this.next();
      });
  }
}

export class LiveState {
  /** The live panel is shown (in place of the queue). */
  open = $state(false);
  phase = $state<LivePhase>('idle');
  devices = $state<Device[]>([]);
  deviceId = $state('');
  lines = $state<LiveLine[]>([]);
  /** 0..1 for the meter. */
  level = $state(0);
  /** Seconds of audio recorded (pauses excluded). */
  elapsed = $state(0);
  /** The last final's latency from the end of its audio, ms; null before one. */
  latencyMs = $state<number | null>(null);
  /** The server-away notice, '' when none. */
  notice = $state('');
  /** A microphone failure: what happened and how to fix it here. */
  micError = $state<MicError | null>(null);
  /** Any other failure, as a sentence. */
  error = $state('');
  /** The saved session's warnings, shown after Stop. */
  warnings = $state<string[]>([]);
  /** Sessions a crash interrupted, saved at this start. */
  recovered = $state<LiveRecovered[]>([]);
  server = $state('');
  model = $state('');

  private session = '';
  private sender: FrameSender | null = null;
  private stopEvents: (() => void) | null = null;

  constructor(
    private readonly mic: Microphone = new BrowserMicrophone(),
    private readonly platform = platformOf(globalThis.navigator?.userAgent ?? ''),
    private readonly devicesOf: () => Promise<Device[]> = listDevices,
  ) {}

  get recording(): boolean {
    return this.phase === 'recording' || this.phase === 'paused';
  }

  show(): void {
    this.open = true;
    void this.refreshDevices();
  }

  hide(): void {
    if (this.phase === 'idle') this.open = false;
  }

  async refreshDevices(): Promise<void> {
    try {
      this.devices = await this.devicesOf();
    } catch {
      this.devices = [];
    }
    if (this.deviceId && !this.devices.some((d) => d.id === this.deviceId)) this.deviceId = '';
  }

  /** Asks Go once for sessions a crash interrupted. */
  async checkRecovered(): Promise<void> {
    try {
      this.recovered = (await api.liveRecovered()) ?? [];
    } catch {
      this.recovered = [];
    }
  }

  dismissRecovered(): void {
    this.recovered = [];
  }

  async start(): Promise<void> {
    if (this.phase !== 'idle') return;
    this.phase = 'starting';
    this.lines = [];
    this.level = 0;
    this.elapsed = 0;
    this.latencyMs = null;
    this.notice = '';
    this.micError = null;
    this.error = '';
    this.warnings = [];
    let info: api.LiveInfo;
    try {
      info = await api.liveStart();
    } catch (err) {
      this.error = t('live.error.start', { message: (err as Error).message });
      this.phase = 'idle';
      return;
    }
    this.session = info.id;
    this.server = info.server;
    this.model = info.model;
    this.stopEvents = api.onLiveEvent((ev) => this.event(ev));
    const sender = new FrameSender(
      (b64) => api.liveFeed(info.id, b64),
      (err) => {
        this.error = t('live.error.feed', { message: err.message });
      },
    );
    this.sender = sender;
    try {
      await this.mic.open(this.deviceId, (x) => this.audio(x));
    } catch (err) {
      this.micError = micError(err, this.platform);
      // Nothing was recorded: the empty session is closed, not kept open.
      this.sender = null;
      await api.liveStop(info.id).catch(() => undefined);
      this.detach();
      this.phase = 'idle';
      return;
    }
    this.phase = 'recording';
    // Labels are given once the page may use the microphone.
    void this.refreshDevices();
  }

  /** The microphone's next 16 kHz block. */
  audio(x: Float32Array): void {
    if (this.phase !== 'recording' || !this.sender) return;
    this.level = level(x);
    this.elapsed += x.length / TARGET_RATE;
    this.sender.push(x);
  }

  async pause(): Promise<void> {
    if (this.phase !== 'recording') return;
    this.phase = 'paused';
    this.level = 0;
    await this.sender?.flush();
    try {
      await api.livePause(this.session);
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  async resume(): Promise<void> {
    if (this.phase !== 'paused') return;
    try {
      await api.liveResume(this.session);
      this.phase = 'recording';
    } catch (err) {
      this.error = (err as Error).message;
    }
  }

  /** Stops and saves; resolves to the history id (null when it failed). */
  async stop(): Promise<number | null> {
    if (!this.recording) return null;
    const wasPaused = this.phase === 'paused';
    this.phase = 'stopping';
    this.mic.close();
    if (!wasPaused) await this.sender?.flush();
    try {
      const res = await api.liveStop(this.session);
      this.warnings = res.warnings ?? [];
      this.detach();
      this.phase = 'idle';
      return res.historyId || null;
    } catch (err) {
      this.error = t('live.error.stop', { message: (err as Error).message });
      this.detach();
      this.phase = 'idle';
      return null;
    }
  }

  /** One of Go's events for this session. */
  event(ev: LiveEvent): void {
    if (ev.session !== this.session) return;
    switch (ev.type) {
      case 'partial':
        this.lines = mergeResult(this.lines, ev);
        break;
      case 'final':
        this.lines = mergeResult(this.lines, ev);
        if (typeof ev.latency_ms === 'number') this.latencyMs = ev.latency_ms;
        break;
      case 'status':
        this.status(ev);
        break;
      // Level: the page measures its own blocks as they come.
    }
  }

  private status(ev: LiveEvent): void {
    switch (ev.status) {
      case 'offline':
        this.notice = t('live.notice.offline', { count: ev.pending ?? 0 });
        break;
      case 'online':
        this.notice = t('live.notice.online');
        break;
      case 'failed':
        this.notice = t('live.notice.failed');
        break;
      case 'storage':
        this.notice = t('live.notice.storage', { message: ev.message ?? '' });
        break;
    }
  }

  private detach(): void {
    this.stopEvents?.();
    this.stopEvents = null;
    this.sender = null;
  }

  /** The microphone is released when the window goes. */
  dispose(): void {
    this.mic.close();
    this.detach();
  }
}
