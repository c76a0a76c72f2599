import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen } from '@testing-library/svelte';
import type { Settings } from '../lib/api';
import { api, resetApi, settings } from './fake-api';

// The calls this panel adds, beside the shared fakes.
const tls = vi.hoisted(() => ({
  pickCacheFolder: vi.fn<() => Promise<string>>(),
  pickPEMFile: vi.fn<(kind: string) => Promise<string>>(),
  setClientKey: vi.fn<(certFile: string, keyFile: string) => Promise<Settings>>(),
  removeClientCert: vi.fn<() => Promise<Settings>>(),
}));

vi.mock('../lib/api', async () => ({ ...(await import('./fake-api')).fakeApi(), ...tls }));

import SettingsPanel from '../lib/components/SettingsPanel.svelte';
import { SettingsState } from '../lib/state/settings.svelte';

beforeEach(() => {
  resetApi();
  tls.pickCacheFolder.mockResolvedValue('');
  tls.pickPEMFile.mockResolvedValue('');
  tls.setClientKey.mockImplementation(async (certFile, keyFile) => settings({ certFile, clientKey: keyFile.split('/').pop(), keyFile: '' }));
  tls.removeClientCert.mockResolvedValue(settings());
});

async function loaded(over: Partial<Settings> = {}): Promise<SettingsState> {
  api.getSettings.mockResolvedValue(settings(over));
  const s = new SettingsState();
  await s.load();
  return s;
}

describe('SettingsState: cache folder and certificate files', () => {
  it('takes a chosen cache folder, keeps it when the dialog is cancelled, and goes back to the default', async () => {
    const s = await loaded({ cacheDir: '/old' });
    await s.chooseCacheFolder();
    expect(s.form.cacheDir).toBe('/old');
    tls.pickCacheFolder.mockResolvedValue('/big/disk/cache');
    await s.chooseCacheFolder();
    expect(s.form.cacheDir).toBe('/big/disk/cache');
    s.defaultCacheFolder();
    expect(s.form.cacheDir).toBe('');
    expect(api.saveSettings).not.toHaveBeenCalled(); // saved with the rest of the form
  });

  it('fills the CA and certificate fields from the file dialog', async () => {
    const s = await loaded();
    tls.pickPEMFile.mockImplementation(async (kind) => `/certs/${kind}.pem`);
    await s.chooseFile('ca');
    await s.chooseFile('cert');
    expect(s.form.caFile).toBe('/certs/ca.pem');
    expect(s.form.certFile).toBe('/certs/cert.pem');
  });

  it('keeps the chosen key in the keyring through Go: the form holds its name only', async () => {
    const s = await loaded({ certFile: '/certs/client.pem' });
    s.form.model = 'edited, not saved yet';
    tls.pickPEMFile.mockResolvedValue('/certs/client-key.pem');
    await s.chooseClientKey();
    expect(tls.pickPEMFile).toHaveBeenCalledWith('key');
    expect(tls.setClientKey).toHaveBeenCalledWith('/certs/client.pem', '/certs/client-key.pem');
    expect(s.form.clientKey).toBe('client-key.pem');
    expect(s.form.keyFile).toBe('');
    expect(s.form.model).toBe('edited, not saved yet');
    expect(s.clientKeyNote).toBe('client-key.pem, kept in the system keyring');

    await s.removeClientCert();
    expect(s.form.certFile).toBe('');
    expect(s.form.clientKey).toBe('');
    expect(s.clientKeyNote).toBe('none');
  });

  it('asks for the certificate before the key, and shows why a key was refused', async () => {
    const s = await loaded();
    await s.chooseClientKey();
    expect(s.error).toBe('Choose the client certificate first, then its key.');
    expect(tls.pickPEMFile).not.toHaveBeenCalled();

    s.form.certFile = '/certs/client.pem';
    tls.pickPEMFile.mockResolvedValue('/certs/locked.pem');
    tls.setClientKey.mockRejectedValue(new Error('The key in /certs/locked.pem is protected by a passphrase.'));
    await s.chooseClientKey();
    expect(s.error).toBe('The key in /certs/locked.pem is protected by a passphrase.');
    expect(s.form.clientKey).toBe('');
    expect(s.keyBusy).toBe(false);
  });

  it('says where a key from an older version is read from', async () => {
    const s = await loaded({ certFile: '/c.pem', keyFile: '/c.key' });
    expect(s.clientKeyNote).toBe('read from /c.key (moved into the keyring when there is one)');
  });
});

describe('SettingsPanel: pickers', () => {
  it('has choosers for the cache folder and every certificate file, and a default for the cache', async () => {
    const s = await loaded({ cacheDir: '/old' });
    render(SettingsPanel, { settings: s });
    expect((screen.getByLabelText('Cache folder (empty = default)') as HTMLInputElement).value).toBe('/old');
    tls.pickCacheFolder.mockResolvedValue('/new');
    await fireEvent.click(screen.getByRole('button', { name: 'Choose the cache folder' }));
    await vi.waitFor(() => expect((screen.getByLabelText('Cache folder (empty = default)') as HTMLInputElement).value).toBe('/new'));
    await fireEvent.click(screen.getByRole('button', { name: 'Use the default cache folder' }));
    expect((screen.getByLabelText('Cache folder (empty = default)') as HTMLInputElement).value).toBe('');
    expect((screen.getByRole('button', { name: 'Use the default cache folder' }) as HTMLButtonElement).disabled).toBe(true);

    tls.pickPEMFile.mockResolvedValue('/certs/client.pem');
    await fireEvent.click(screen.getByRole('button', { name: 'Choose the client certificate file' }));
    await vi.waitFor(() => expect((screen.getByLabelText('Client certificate file (mutual TLS)') as HTMLInputElement).value).toBe('/certs/client.pem'));
    expect(screen.getByRole('button', { name: 'Choose the CA certificates file' })).toBeTruthy();

    tls.pickPEMFile.mockResolvedValue('/certs/client-key.pem');
    await fireEvent.click(screen.getByRole('button', { name: 'Choose the client key file' }));
    await vi.waitFor(() => expect(screen.getByTestId('client-key').textContent).toBe('client-key.pem, kept in the system keyring'));
    expect(screen.getByRole('group', { name: /Client key .*without a passphrase/ })).toBeTruthy();
    await fireEvent.click(screen.getByRole('button', { name: 'Remove the client certificate and its key' }));
    await vi.waitFor(() => expect(screen.getByTestId('client-key').textContent).toBe('none'));
  });
});
