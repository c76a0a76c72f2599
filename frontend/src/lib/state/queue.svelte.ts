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
import { t } from '../i18n/index.svelte';
import { baseName } from '../format';

const active = new Set(['queued', 'staging', 'decoding', 'transcribing', 'exporting']);
const stageOrder = ['queued', 'staging', 'decoding', 'transcribing', 'exporting', 'done', 'failed', 'cancelled'];

/** Whether job a is a later state of the same job than b: a retry counts
 * up attempts, and within one attempt the stages and chunks only advance. */
export function notOlder(a: Job, b: Job): boolean {
  if ((a.attempts ?? 0) !== (b.attempts ?? 0)) return (a.attempts ?? 0) > (b.attempts ?? 0);
  const sa = stageOrder.indexOf(a.state);
  const sb = stageOrder.indexOf(b.state);
  if (sa !== sb) return sa > sb;
  return (a.progress?.chunksDone ?? 0) >= (b.progress?.chunksDone ?? 0);
}

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

  /** For screen readers (a polite live region): a job that finished or
   * failed, and nothing else, so progress does not flood them. */
  announcement = $state('');

  /** Live throughput: seconds of audio transcribed per second of wall
   * time, summed over the jobs transcribing now (their realtimeFactor);
   * 0 when nothing runs. */
  throughput = $derived(
    this.jobs.reduce((sum, j) => sum + (j.state === 'transcribing' ? Math.max(0, j.progress?.realtimeFactor ?? 0) : 0), 0),
  );

  /** Settles once start()'s first list is in. */
  listed: Promise<void> = Promise.resolve();

  /** Events that arrive while the first list is on its way (see start). */
  private early: QueueEvent[] | null = null;

  /** Listens to the queue and loads it; returns the unsubscribe. Events
   * that arrive before the list are kept and applied over it afterwards
   * (by id, the newer state winning), so none is lost. */
  start(): () => void {
    this.early = [];
    const offQueue = onQueueEvent((ev) => (this.early ? this.early.push(ev) : this.apply(ev)));
    const offAdded = onFilesAdded((res) => this.noteAdded(res));
    this.listed = this.refresh();
    return () => {
      offQueue();
      offAdded();
    };
  }

  async refresh(): Promise<void> {
    try {
      const list = await listJobs();
      const early = this.early ?? [];
      this.early = null;
      this.jobs = list;
      for (const ev of early) {
        const have = this.jobs.find((j) => j.id === ev.job.id);
        if (ev.kind !== 'removed' && have && !notOlder(ev.job, have)) continue;
        this.apply(ev);
      }
    } catch (e) {
      this.early = null;
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
    // Wails' devserver sends each event from a goroutine of its own, so
    // two close together can arrive swapped: a stale one must not undo a
    // newer state (a finished row back at "transcribing").
    if (i >= 0 && !notOlder(ev.job, this.jobs[i])) return;
    const before = i >= 0 ? this.jobs[i].state : null;
    if (i >= 0) this.jobs[i] = ev.job;
    else this.jobs.push(ev.job);
    if (before !== ev.job.state && (ev.job.state === 'done' || ev.job.state === 'failed')) {
      const name = baseName(ev.job.request?.path ?? '');
      this.announcement = t(ev.job.state === 'done' ? 'queue.announce.done' : 'queue.announce.failed', { name });
    }
    // The open job has just finished (again): show its new transcript.
    if (this.selectedId === ev.job.id && ev.job.state === 'done' && !this.result) void this.loadResult(ev.job.id);
  }

  /** The finished jobs' ids, for exporting them all. */
  finished = $derived(this.jobs.filter((j) => j.state === 'done').map((j) => j.id));

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
