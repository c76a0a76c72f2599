import { beforeEach, describe, expect, it, vi } from 'vitest';
import { api, deferred, emitQueue, job, listenerCount, resetApi, result } from './fake-api';
import type { Job } from '../lib/api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import { QueueState } from '../lib/state/queue.svelte';

beforeEach(() => resetApi());

describe('QueueState', () => {
  it('follows the queue through its events and stops listening', async () => {
    const q = new QueueState();
    const stop = q.start();
    expect(listenerCount()).toBe(2);
    await q.listed;
    emitQueue({ kind: 'added', job: job(1, 'queued') });
    emitQueue({ kind: 'added', job: job(2, 'queued') });
    emitQueue({ kind: 'updated', job: job(1, 'transcribing', { progress: { path: 'a', stage: 'transcribing', chunksDone: 1, chunksTotal: 2, fraction: 0.5 } }) });
    expect(q.jobs.map((j) => [j.id, j.state])).toEqual([
      [1, 'transcribing'],
      [2, 'queued'],
    ]);
    expect(q.totals).toMatchObject({ all: 2, active: 2, done: 0, fraction: 0.25 });
    emitQueue({ kind: 'removed', job: job(2, 'queued') });
    expect(q.jobs.map((j) => j.id)).toEqual([1]);
    stop();
    expect(listenerCount()).toBe(0);
  });

  it('keeps the newer state when two events arrive swapped (the devserver sends each from its own goroutine)', async () => {
    const q = new QueueState();
    q.start();
    await q.listed;
    emitQueue({ kind: 'added', job: job(1, 'queued') });
    emitQueue({ kind: 'updated', job: job(1, 'done') });
    emitQueue({ kind: 'updated', job: job(1, 'transcribing') });
    expect(q.jobs.map((j) => j.state)).toEqual(['done']);
    emitQueue({ kind: 'updated', job: job(1, 'queued', { attempts: 2 }) }); // a retry is newer
    expect(q.jobs.map((j) => j.state)).toEqual(['queued']);
  });

  it('counts totals by state', () => {
    const q = new QueueState();
    for (const [id, st] of [[1, 'done'], [2, 'failed'], [3, 'cancelled'], [4, 'staging']] as const) {
      q.apply({ kind: 'added', job: job(id, st) });
    }
    expect(q.totals).toMatchObject({ all: 4, done: 1, failed: 1, cancelled: 1, active: 1 });
  });

  it('reloads the open job after a retry, and opens nothing by itself', async () => {
    const q = new QueueState();
    q.apply({ kind: 'added', job: job(1, 'done') });
    expect(q.selectedId).toBeNull();
    await q.select(1);
    await vi.waitFor(() => expect(q.result?.transcript.text).toBe('Hello there. General Kenobi.'));
    api.jobResult.mockResolvedValue({ outputs: [], transcript: { source: '', sha256: '', duration: 0, model: '', text: 'again', segments: [] } });
    await q.retry(1);
    expect(q.result).toBeNull();
    q.apply({ kind: 'updated', job: job(1, 'done') });
    await vi.waitFor(() => expect(q.result?.transcript.text).toBe('again'));
  });

  it('keeps the events that arrive before the first list, applied over it by id', async () => {
    const list = deferred<Job[]>();
    api.listJobs.mockReturnValue(list.promise);
    const q = new QueueState();
    q.start();
    // Job 1 finishes and job 3 is added while the list is on its way; the
    // list was taken before either, and still has job 2, removed meanwhile.
    emitQueue({ kind: 'updated', job: job(1, 'done', { attempts: 1 }) });
    emitQueue({ kind: 'added', job: job(3, 'queued') });
    emitQueue({ kind: 'removed', job: job(2, 'queued') });
    // An old event for job 4, whose newer state the list already has.
    emitQueue({ kind: 'updated', job: job(4, 'transcribing', { attempts: 1 }) });
    expect(q.jobs).toEqual([]);
    list.resolve([job(1, 'transcribing'), job(2, 'queued'), job(4, 'queued', { attempts: 2 })]);
    await vi.waitFor(() => expect(q.jobs.map((j) => [j.id, j.state])).toEqual([
      [1, 'done'],
      [4, 'queued'],
      [3, 'queued'],
    ]));
    emitQueue({ kind: 'updated', job: job(3, 'staging') });
    expect(q.jobs.find((j) => j.id === 3)?.state).toBe('staging');
  });

  it('announces a job that finished or failed, and nothing on progress', () => {
    const q = new QueueState();
    q.apply({ kind: 'added', job: job(1, 'queued') });
    q.apply({ kind: 'updated', job: job(1, 'transcribing') });
    expect(q.announcement).toBe('');
    q.apply({ kind: 'updated', job: job(1, 'done') });
    expect(q.announcement).toBe('take 1.wav is transcribed.');
    q.apply({ kind: 'added', job: job(2, 'failed') });
    expect(q.announcement).toBe('take 2.wav failed.');
  });

  it('sums the running jobs’ realtime factors as the live throughput', () => {
    const q = new QueueState();
    const running = (id: number, rtf: number) =>
      job(id, 'transcribing', { progress: { path: 'a', stage: 'transcribing', chunksDone: 1, chunksTotal: 4, fraction: 0.25, realtimeFactor: rtf } });
    q.apply({ kind: 'added', job: running(1, 20) });
    q.apply({ kind: 'added', job: running(2, 12.5) });
    q.apply({ kind: 'added', job: job(3, 'done') });
    expect(q.throughput).toBeCloseTo(32.5);
    q.apply({ kind: 'updated', job: job(1, 'done') });
    expect(q.throughput).toBeCloseTo(12.5);
  });

  it('shows a history transcript as the open media until a job is chosen', async () => {
    const q = new QueueState();
    expect(q.media).toBeNull();
    q.showHistory(4, result().transcript);
    expect(q.media).toEqual({ kind: 'history', id: 4 });
    expect(q.result?.historyId).toBe(4);
    // A job that finishes meanwhile does not take its place.
    q.apply({ kind: 'added', job: job(1, 'done') });
    expect(q.selectedId).toBeNull();
    expect(api.jobResult).not.toHaveBeenCalled();
    await q.select(1);
    expect(q.historyId).toBeNull();
    await vi.waitFor(() => expect(q.media).toEqual({ kind: 'job', id: 1 }));
  });

  it('keeps an edit of a history transcript in its entry', async () => {
    const q = new QueueState();
    q.showHistory(4, result().transcript);
    expect(await q.editSegment(1, ' General  Grievous. ')).toBe(true);
    expect(api.editSegment).toHaveBeenCalledWith(4, 1, ' General  Grievous. ');
    expect(q.result?.transcript.segments[1].text).toBe('General Grievous.');
  });

  it("does not open an unfinished job's transcript", async () => {
    const q = new QueueState();
    q.apply({ kind: 'added', job: job(1, 'transcribing') });
    await q.select(1);
    expect(api.jobResult).not.toHaveBeenCalled();
    expect(q.result).toBeNull();
  });

  it('shows what the Go side refused', async () => {
    api.retryJob.mockRejectedValue(new Error('Only a failed or cancelled job can be retried.'));
    const q = new QueueState();
    await q.retry(1);
    expect(q.error).toBe('Only a failed or cancelled job can be retried.');
  });

  it('keeps what a drop or the dialog did not take', async () => {
    api.addFiles.mockResolvedValue({ added: [1], skipped: [{ path: '/x.txt', reason: 'no' }] });
    const q = new QueueState();
    await q.add(['/a.wav', '/x.txt']);
    expect(q.skipped).toEqual([{ path: '/x.txt', reason: 'no' }]);
    api.pickFiles.mockResolvedValue({ added: [], skipped: [] });
    await q.pick();
    expect(q.skipped).toHaveLength(1); // a cancelled dialog changes nothing
  });
});
