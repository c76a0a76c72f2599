import type { Progress, Stage } from './api';
import { formatDuration, formatNumber, t, type MessageKey } from './i18n/index.svelte';

export { formatDuration } from './i18n/index.svelte';

/** Seconds as [mm:ss.s], or [h:mm:ss.s] from one hour on. */
export function formatTimestamp(seconds: number): string {
  return `[${formatClock(seconds)}]`;
}

/** Seconds as mm:ss.s, or h:mm:ss.s from one hour on. */
export function formatClock(seconds: number): string {
  const tenths = Math.max(0, Math.round((Number.isFinite(seconds) ? seconds : 0) * 10));
  const h = Math.floor(tenths / 36000);
  const m = Math.floor((tenths % 36000) / 600);
  const s = (tenths % 600) / 10;
  const ss = s.toFixed(1).padStart(4, '0');
  const mm = String(m).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

const stages: Stage[] = ['queued', 'staging', 'decoding', 'transcribing', 'exporting', 'done', 'failed', 'cancelled'];

/** The words shown for a stage; unknown stages are shown as they come. */
export function stageLabel(stage: string): string {
  return stages.includes(stage as Stage) ? t(`stage.${stage}` as MessageKey) : stage;
}

/** One line under the progress bar: "Transcribing — chunk 3 of 10". */
export function progressLabel(p: Progress): string {
  const label = stageLabel(p.stage);
  if (p.chunksTotal <= 0) return label;
  if (p.stage === 'done') return t('progress.doneChunks', { stage: label, count: p.chunksTotal });
  return t('progress.chunk', { stage: label, done: p.chunksDone, total: p.chunksTotal });
}

/** The last part of a path, for headings; the full path is shown too. */
export function baseName(path: string): string {
  const parts = path.split(/[\\/]/).filter(Boolean);
  return parts.length ? parts[parts.length - 1] : path;
}

/** A realtime factor: "25.0× real time". */
export function realtimeLabel(factor: number): string {
  return t('progress.realtime', { factor: formatNumber(factor, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) });
}

/** Realtime factor and ETA for a running job, or '' when unknown. */
export function speedLabel(p: Progress): string {
  const parts: string[] = [];
  if (p.realtimeFactor && p.realtimeFactor > 0) parts.push(realtimeLabel(p.realtimeFactor));
  if (p.etaSeconds !== undefined && p.etaSeconds >= 0 && p.stage !== 'done') parts.push(t('progress.eta', { duration: formatDuration(p.etaSeconds) }));
  return parts.join(' · ');
}
