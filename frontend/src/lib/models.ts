// What the server says about each of its models (Go: inference.ModelStatus),
// as people read it: whether the model can be chosen to transcribe, and
// if not, why. Triton's states: READY (with its instances: copies that
// execute at once), LOADING, UNAVAILABLE (with the load error as reason),
// and "" for a folder of the repository that is not loaded.
import type { ModelStatus } from './api';
import { t } from './i18n/index.svelte';

export type Availability = 'ready' | 'speaker' | 'loading' | 'failed' | 'notLoaded' | 'other';

/** The config kind of a speaker-embedding model (models.KindSpeakerEmbedding). */
export const speakerEmbedding = 'speaker_embedding';

export function availability(m: ModelStatus): Availability {
  const state = (m.state ?? '').toUpperCase();
  if (m.ready) return m.kind === speakerEmbedding ? 'speaker' : 'ready';
  if (state === 'LOADING') return 'loading';
  if (state === 'UNAVAILABLE') return 'failed';
  if (state === '') return 'notLoaded';
  return 'other';
}

/** Whether the model can be chosen to transcribe with. */
export function usable(m: ModelStatus | null | undefined): boolean {
  return !!m && availability(m) === 'ready';
}

/** The model's state in a few words ("ready", "loading", "not loaded on the server", …). */
export function stateText(m: ModelStatus): string {
  switch (availability(m)) {
    case 'ready':
      return t('model.ready');
    case 'speaker':
      return t('model.speaker');
    case 'loading':
      return t('model.loading');
    case 'failed':
      return t('model.failed');
    case 'notLoaded':
      return t('model.notLoaded');
    default:
      return t('model.otherState', { state: (m.state ?? '').toLowerCase() });
  }
}

/** "2 instances" for a ready model that runs more than one copy; '' otherwise. */
export function instancesText(m: ModelStatus): string {
  const n = m.instances ?? 0;
  return m.ready && n > 1 ? t('model.instances', { count: n }) : '';
}

/** Why the model is in its state, as the server said (a load error); '' when it said nothing. */
export function reasonText(m: ModelStatus): string {
  return m.ready ? '' : (m.reason ?? '').trim();
}
