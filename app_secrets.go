package main

import (
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/secrets"
)

// SetHeader adds an extra header sent with every request, or with an
// empty value removes it. Its name goes in the settings, its value in
// the keyring, never in the settings file or the log.
func (a *App) SetHeader(name, value string) (config.Settings, error) {
	return a.redialAfter(secrets.SetHeader(a.settings, a.secrets, name, value))
}

// SetClientKey takes the client certificate certFile and its private key
// from keyFile for mutual TLS: it checks that they belong together, keeps
// the key in the keyring and the certificate's path in the settings,
// with only the key file's name, for display. The key file is left as it
// is; the app does not read it again. Keys protected by a passphrase are
// refused.
func (a *App) SetClientKey(certFile, keyFile string) (config.Settings, error) {
	return a.redialAfter(secrets.SetClientKey(a.settings, a.secrets, certFile, keyFile))
}

// RemoveClientCert stops sending a client certificate: its path leaves
// the settings and its key the keyring.
func (a *App) RemoveClientCert() (config.Settings, error) {
	return a.redialAfter(secrets.RemoveClientCert(a.settings, a.secrets))
}

// redialAfter passes on what a change of the connection's secrets
// returned, first having the engine dial again when it succeeded (a
// header's value may have changed even when the settings did not).
func (a *App) redialAfter(saved config.Settings, err error) (config.Settings, error) {
	if err == nil {
		a.reconnect()
	}
	return saved, err
}

// reconnect makes the engine dial again with the settings and secrets as
// they are now, from the next request on, without stopping the jobs in
// flight (see transcribe.Engine.Reconnect).
func (a *App) reconnect() {
	if r, ok := a.engine.(interface{ Reconnect() }); ok {
		r.Reconnect()
	}
}

// migrateKeyFile moves the client key an older version named by its
// path into the keyring (see secrets.MigrateKeyFile); main runs it once
// at start, before the window opens.
func (a *App) migrateKeyFile() { secrets.MigrateKeyFile(a.settings, a.secrets) }

// connect dials addr (one or more addresses, comma separated) with the
// settings' TLS and headers and the secrets they name; the engine calls
// it once per server address, and again after a reconnect.
func (a *App) connect(addr string) (*inference.Server, error) {
	cfg, err := secrets.Config(a.settings.Get(), a.secrets, addr)
	if err != nil {
		return nil, err
	}
	return inference.ConnectConfig(cfg)
}
