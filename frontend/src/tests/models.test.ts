import { afterEach, describe, expect, it } from 'vitest';
import { availability, instancesText, reasonText, stateText, usable } from '../lib/models';
import { locale } from '../lib/i18n/index.svelte';
import { model } from './fake-api';

afterEach(() => locale.set(''));

describe('a model as the server reports it', () => {
  it('is usable only when ready and not a speaker model, and says why not', () => {
    const cases = [
      [{ ...model('a', true, 'READY'), instances: 1 }, 'ready', true, 'ready', ''],
      [{ ...model('a', true, 'READY'), instances: 4 }, 'ready', true, 'ready', '4 instances'],
      [model('a', false, 'LOADING'), 'loading', false, 'loading', ''],
      [{ ...model('a', false, 'UNAVAILABLE'), reason: 'CUDA out of memory' }, 'failed', false, 'failed to load', ''],
      [model('a', false, ''), 'notLoaded', false, 'not loaded on the server', ''],
      [model('a', false, 'UNLOADING'), 'other', false, 'not ready (unloading)', ''],
      [{ ...model('a', true, 'READY'), kind: 'speaker_embedding', instances: 2 }, 'speaker', false, 'speaker model, not for transcription', '2 instances'],
    ] as const;
    for (const [m, kind, ok, text, extra] of cases) {
      expect(availability(m), `${m.state} ${m.kind}`).toBe(kind);
      expect(usable(m)).toBe(ok);
      expect(stateText(m)).toBe(text);
      expect(instancesText(m)).toBe(extra);
    }
    expect(usable(null)).toBe(false);
    expect(reasonText({ ...model('a', false, 'UNAVAILABLE'), reason: ' CUDA out of memory ' })).toBe('CUDA out of memory');
  });

  it('speaks the UI language, plurals too', () => {
    locale.set('ru');
    expect(instancesText({ ...model('a', true, 'READY'), instances: 3 })).toBe('3 экземпляра');
    expect(stateText(model('a', false, ''))).toBe('не загружена на сервере');
    locale.set('de');
    expect(instancesText({ ...model('a', true, 'READY'), instances: 2 })).toBe('2 Instanzen');
  });
});
