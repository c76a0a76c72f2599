import { beforeEach, describe, expect, it, vi } from 'vitest';
import { api, resetApi, settings, status } from './fake-api';

vi.mock('../lib/api', async () => (await import('./fake-api')).fakeApi());

import { SettingsState, takesOptions } from '../lib/state/settings.svelte';

beforeEach(() => resetApi());

describe('SettingsState', () => {
  it('loads, edits and saves, with numbers as numbers', async () => {
    const s = new SettingsState();
    await s.load();
    expect(s.form.server).toBe('localhost:8001');
    s.form.concurrency = '4' as unknown as number; // what a number input may hand over
    s.form.chunkSeconds = 20;
    expect(await s.save()).toBe(true);
    expect(api.saveSettings).toHaveBeenCalledWith(expect.objectContaining({ concurrency: 4, chunkSeconds: 20 }));
    expect(s.saved).toBe(true);
  });

  it('shows why settings were refused', async () => {
    api.saveSettings.mockRejectedValue(new Error('Choose a model.'));
    const s = new SettingsState();
    await s.load();
    expect(await s.save()).toBe(false);
    expect(s.error).toBe('Choose a model.');
  });

  it('fills the model picker with the ready models', async () => {
    const s = new SettingsState();
    await s.load();
    await s.checkServer();
    expect(s.readyModels).toEqual(['parakeet-tdt-0.6b-v2']);
    expect(s.modelOnServer?.name).toBe('parakeet-tdt-0.6b-v2');
    expect(s.checkedAt).not.toBeNull();
  });

  it('reports a failed check and clears the old status', async () => {
    const s = new SettingsState();
    s.status = status();
    api.getServerStatus.mockRejectedValue(new Error('down.'));
    await s.checkServer();
    expect(s.status).toBeNull();
    expect(s.statusError).toBe('down.');
  });

  it('adds a header by name and value and removes it; the value is not kept in the form', async () => {
    const s = new SettingsState();
    await s.load();
    s.headerName = 'Authorization';
    s.headerValue = 'Bearer t';
    await s.setHeader();
    expect(api.setHeader).toHaveBeenCalledWith('Authorization', 'Bearer t');
    expect(s.headers).toEqual(['Authorization']);
    expect(s.headerValue).toBe('');
    expect(JSON.stringify(s.form)).not.toContain('Bearer');
    await s.setHeader('Authorization', '');
    expect(s.headers).toEqual([]);
  });

  it('says whether ffmpeg is found', async () => {
    const s = new SettingsState();
    await s.load();
    await vi.waitFor(() => expect(s.ffmpeg).toEqual({ found: true, path: '/usr/bin/ffmpeg' }));
    api.ffmpegStatus.mockResolvedValue({ found: false, path: '/opt/ff' });
    s.form.ffmpegPath = '/opt/ff';
    await s.checkFFmpeg();
    expect(api.ffmpegStatus).toHaveBeenLastCalledWith('/opt/ff');
    expect(s.ffmpeg?.found).toBe(false);
  });

  it('writes the diagnostics into the chosen folder', async () => {
    api.pickFolder.mockResolvedValue('/tmp');
    const s = new SettingsState();
    await s.exportDiagnostics();
    expect(api.exportDiagnostics).toHaveBeenCalledWith('/tmp');
    expect(s.diagnostics).toBe('/tmp/diag.zip');
  });

  it.each([
    ['canary-1b-flash', true],
    ['Canary-180M-Flash', true],
    ['parakeet-tdt-0.6b-v2', false],
  ])('%s takes options: %s', (model, want) => {
    expect(takesOptions(model)).toBe(want);
    void settings;
  });
});
