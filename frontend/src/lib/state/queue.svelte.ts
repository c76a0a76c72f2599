// The queue as the UI shows it: one row per file, kept in step with Go's
// queue through its events, plus the chosen job's transcript.
import {
  addFiles,
  cancelAll,
  cancelJob,
  editSegment,
  jobResult,
  listJobs,
  onFilesAdded,
  onQueueEvent,
  pickFiles,
  removeFinished,
  removeJob,
  retryJob,
  retryWithOverwrite,
  type AddResult,
  type Job,
  type QueueEvent,
  type Skipped,
  type TranscribeResult,
} from '../api';
import type { Media } from './player.svelte';

const active = new Set(['queued', 'staging', 'decoding', 'transcribing', 'exporting']);

export class QueueState {
  jobs = $state<Job[]>([]);
  /** Files not taken at the last add, with the reason. */
  skipped = $state<Skipped[]>([]);
  error = $state('');

  selectedId = $state<number | null>(null);
  /** The history entry whose transcript is open, when it is not a job's. */
  historyId = $state<number | null>(null);
  result = $state<TranscribeResult | null>(null);
  resultError = $state('');

  /** Whose transcript is open, for the player and the export. */
  media = $derived.by((): Media | null => {
    if (!this.result) return null;
    if (this.selectedId !== null) return { kind: 'job', id: this.selectedId };
    if (this.historyId !== null) return { kind: 'history', id: this.historyId };
    return null;
  });

  totals = $derived.by(() => {
    const t = { all: this.jobs.length, done: 0, failed: 0, cancelled: 0, active: 0, fraction: 0 };
    for (const j of this.jobs) {
      if (j.state === 'done') t.done++;
      else if (j.state === 'failed') t.failed++;
      else if (j.state === 'cancelled') t.cancelled++;
      else if (active.has(j.state)) t.active++;
      t.fraction += j.state === 'done' ? 1 : Math.min(1, Math.max(0, j.progress?.fraction || 0));
    }
    t.fraction = t.all ? t.fraction / t.all : 0;
    return t;
  });

  /** Listens to the queue and loads it; returns the unsubscribe. */
  start(): () => void {
    const offQueue = onQueueEvent((ev) => this.apply(ev));
    const offAdded = onFilesAdded((res) => this.noteAdded(res));
    void this.refresh();
    return () => {
      offQueue();
      offAdded();
    };
  }

  async refresh(): Promise<void> {
    try {
      this.jobs = await listJobs();
    } catch (e) {
      this.error = (e as Error).message;
    }
  }

  /** Applies one change from Go. */
  apply(ev: QueueEvent): void {
    const i = this.jobs.findIndex((j) => j.id === ev.job.id);
    if (ev.kind === 'removed') {
      if (i >= 0) this.jobs.splice(i, 1);
      if (this.selectedId === ev.job.id) this.select(null);
      return;
    }
    if (i >= 0) this.jobs[i] = ev.job;
    else this.jobs.push(ev.job);
    // The open job has just finished (again): show its new transcript.
    if (this.selectedId === ev.job.id && ev.job.state === 'done' && !this.result) void this.loadResult(ev.job.id);
    // The first file to finish opens by itself when no transcript is open.
    if (this.selectedId === null && this.historyId === null && ev.job.state === 'done') void this.select(ev.job.id);
  }

  noteAdded(res: AddResult): void {
    this.skipped = res.skipped ?? [];
  }

  async add(paths: string[]): Promise<void> {
    await this.run(async () => this.noteAdded(await addFiles(paths)));
  }

  async pick(): Promise<void> {
    await this.run(async () => {
      const res = await pickFiles();
      if ((res.added?.length ?? 0) + (res.skipped?.length ?? 0) > 0) this.noteAdded(res);
    });
  }

  cancel(id: number) {
    return this.run(() => cancelJob(id));
  }
  cancelAll() {
    return this.run(() => cancelAll());
  }
  retry(id: number) {
    if (this.selectedId === id) this.result = null;
    return this.run(() => retryJob(id));
  }
  overwrite(id: number) {
    return this.run(() => retryWithOverwrite(id));
  }
  remove(id: number) {
    return this.run(() => removeJob(id));
  }
  clearFinished() {
    return this.run(() => removeFinished());
  }

  /** Opens a job's transcript (null closes it). */
  async select(id: number | null): Promise<void> {
    this.selectedId = id;
    this.historyId = null;
    this.result = null;
    this.resultError = '';
    if (id === null) return;
    const job = this.jobs.find((j) => j.id === id);
    if (job?.state === 'done') await this.loadResult(id);
  }

  /** Shows a past transcript from the history: no job, so its audio and
   * exports go through the history entry (see media). */
  showHistory(id: number, transcript: TranscribeResult['transcript']): void {
    this.selectedId = null;
    this.historyId = id;
    this.resultError = '';
    this.result = { transcript, outputs: [], historyId: id };
  }

  /** Saves an edited segment text; resolves to whether it was kept. */
  async editSegment(index: number, text: string): Promise<boolean> {
    const res = this.result;
    if (!res) return false;
    this.resultError = '';
    try {
      await editSegment(res.historyId ?? 0, index, text);
      res.transcript.segments[index].text = text.trim().split(/\s+/).join(' ');
      res.transcript.segments[index].words = [];
      return true;
    } catch (e) {
      this.resultError = (e as Error).message;
      return false;
    }
  }

  private async loadResult(id: number): Promise<void> {
    try {
      const res = await jobResult(id);
      if (this.selectedId === id) this.result = res;
    } catch (e) {
      if (this.selectedId === id) this.resultError = (e as Error).message;
    }
  }

  private async run(fn: () => Promise<unknown>): Promise<void> {
    this.error = '';
    try {
      await fn();
    } catch (e) {
      this.error = (e as Error).message;
    }
  }
}
