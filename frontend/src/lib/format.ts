import type { Progress, Stage } from './api';

/** Seconds as [mm:ss.s], or [h:mm:ss.s] from one hour on. */
export function formatTimestamp(seconds: number): string {
  const tenths = Math.max(0, Math.round((Number.isFinite(seconds) ? seconds : 0) * 10));
  const h = Math.floor(tenths / 36000);
  const m = Math.floor((tenths % 36000) / 600);
  const s = (tenths % 600) / 10;
  const ss = s.toFixed(1).padStart(4, '0');
  const mm = String(m).padStart(2, '0');
  return h > 0 ? `[${h}:${mm}:${ss}]` : `[${mm}:${ss}]`;
}

const stageLabels: Record<Stage, string> = {
  queued: 'Waiting to start',
  staging: 'Copying the file',
  decoding: 'Reading the audio',
  transcribing: 'Transcribing',
  exporting: 'Saving',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

/** The words shown for a stage; unknown stages are shown as they come. */
export function stageLabel(stage: string): string {
  return stageLabels[stage as Stage] ?? stage;
}

/** One line under the progress bar: "Transcribing — chunk 3 of 10". */
export function progressLabel(p: Progress): string {
  const label = stageLabel(p.stage);
  if (p.chunksTotal <= 0) return label;
  if (p.stage === 'done') return `${label} — ${p.chunksTotal} ${p.chunksTotal === 1 ? 'chunk' : 'chunks'}`;
  return `${label} — chunk ${p.chunksDone} of ${p.chunksTotal}`;
}

/** The last part of a path, for headings; the full path is shown too. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : path;
}

/** A duration for people: "45 s", "3 min 20 s", "1 h 5 min". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(Number.isFinite(seconds) ? seconds : 0));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Realtime factor and ETA for a running job, or '' when unknown. */
export function speedLabel(p: Progress): string {
  const parts: string[] = [];
  if (p.realtimeFactor && p.realtimeFactor > 0) parts.push(`${p.realtimeFactor.toFixed(1)}× real time`);
  if (p.etaSeconds !== undefined && p.etaSeconds >= 0 && p.stage !== 'done') parts.push(`about ${formatDuration(p.etaSeconds)} left`);
  return parts.join(' · ');
}
