package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/wailsapp/wails/v2/pkg/runtime"
	"google.golang.org/grpc/metadata"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

func writeCerts(t *testing.T) tritontest.Certs {
	t.Helper()
	cs, err := tritontest.WriteCerts(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func readBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyring is a SecretStore that outlives the app, as the OS keyring
// does; it refuses values longer than Windows' Credential Manager takes.
type lastingKeyring struct{ memSecrets }

func (*lastingKeyring) temporary() bool { return false }

func (k *lastingKeyring) Set(key, value string) error {
	if len(value) > 2560 {
		return errors2560
	}
	return k.memSecrets.Set(key, value)
}

var errors2560 = errors.New("data passed to Set was too big")

// reconnects is an engine that counts Reconnect calls.
type reconnects struct {
	fakeEngine
	mu sync.Mutex
	n  int
}

func (r *reconnects) Reconnect() { r.mu.Lock(); r.n++; r.mu.Unlock() }
func (r *reconnects) count() int { r.mu.Lock(); defer r.mu.Unlock(); return r.n }

// keyBody is a run of the key's base64 body: finding it anywhere means
// the key leaked.
func keyBody(t *testing.T, path string) string {
	t.Helper()
	b, _ := pem.Decode(readBytes(t, path))
	if b == nil {
		t.Fatalf("%s holds no PEM", path)
	}
	body := strings.Split(string(pem.EncodeToMemory(b)), "\n")[1]
	return body[:40]
}

// Choosing a client key puts it in the keyring: the settings file names
// the key file only, and a server that requires mutual TLS accepts the
// key as the keyring gives it back.
func TestClientKeyLivesInTheKeyringOnly(t *testing.T) {
	cs := writeCerts(t)
	serverTLS, err := tritontest.LoadServerTLS(cs.ServerCert, cs.ServerKey, cs.CA)
	if err != nil {
		t.Fatal(err)
	}
	addr := tritontest.Start(t, tritontest.Options{TLS: serverTLS})
	path := filepath.Join(t.TempDir(), "settings.json")
	st, err := openSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	secrets := &lastingKeyring{}
	var a *App
	eng, err := transcribe.Open(transcribe.Config{Connect: func(addr string) (*inference.Server, error) { return a.connect(addr) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	a = NewApp(eng, &fakeQueue{}, st, (&recorder{}).emit)
	a.secrets = secrets

	s := a.GetSettings()
	s.Server, s.TLS, s.CAFile = addr, true, cs.CA
	if _, err := a.SaveSettings(s); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ServerStatus(""); apperr.CodeOf(err) != apperr.CodeTLS || !strings.Contains(err.Error(), "requires a client certificate") {
		t.Fatalf("without a client certificate: %v", err)
	}

	// The key arrives while the app runs: the next call uses it.
	saved, err := a.SetClientKey(cs.ClientCert, cs.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	if saved.ClientKey != "client-key.pem" || saved.KeyFile != "" || saved.CertFile != cs.ClientCert {
		t.Errorf("saved %+v", saved)
	}
	file := readBytes(t, path)
	if bytes.Contains(file, []byte("PRIVATE KEY")) || bytes.Contains(file, []byte(keyBody(t, cs.ClientKey))) || !bytes.Contains(file, []byte(`"clientKey": "client-key.pem"`)) {
		t.Errorf("settings file after choosing the key:\n%s", file)
	}
	kept, _ := getSecret(secrets, clientKeySecret)
	if !strings.Contains(kept, keyBody(t, cs.ClientKey)) {
		t.Errorf("the keyring holds %d bytes, not the key", len(kept))
	}
	if st, err := a.ServerStatus(""); err != nil || !st.Live || !st.TLS {
		t.Fatalf("mTLS with the key from the keyring: %+v, %v", st, err)
	}

	// Removing the certificate (clearing its field) removes the key.
	s = a.GetSettings()
	s.CertFile = ""
	if saved, err = a.SaveSettings(s); err != nil || saved.ClientKey != "" || saved.KeyFile != "" {
		t.Fatalf("removing the certificate: %+v, %v", saved, err)
	}
	if v, _ := getSecret(secrets, clientKeySecret); v != "" {
		t.Error("the key stayed in the keyring after its certificate was removed")
	}
	if _, err := a.ServerStatus(""); err == nil {
		t.Error("the old key was still used after it was removed")
	}
}

// Keys that cannot be used are refused with a sentence that says why and
// what to do, quoting no key material; nothing is kept.
func TestBadClientKeysAreRefused(t *testing.T) {
	cs := writeCerts(t)
	dir := t.TempDir()
	der := readBytes(t, cs.ClientKey)
	block, _ := pem.Decode(der)
	write := func(name string, b *pem.Block) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkcs8 := write("encrypted-pkcs8.pem", &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: block.Bytes})
	legacy := write("encrypted-legacy.pem", &pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00112233445566778899AABBCCDDEEFF"}, Bytes: block.Bytes})
	damaged := write("damaged.pem", &pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not DER at all")})
	if _, err := x509.ParseECPrivateKey(block.Bytes); err != nil {
		t.Fatal(err) // the test's premise: WriteCerts writes an EC key
	}

	tests := []struct {
		name, cert, key, want string
	}{
		{"key of another certificate", cs.ClientCert, cs.ServerKey, "is not the key of the certificate"},
		{"encrypted PKCS #8", cs.ClientCert, pkcs8, "protected by a passphrase"},
		{"encrypted legacy PEM", cs.ClientCert, legacy, "protected by a passphrase"},
		{"a certificate, not a key", cs.ClientCert, cs.CA, "holds no private key"},
		{"damaged key", cs.ClientCert, damaged, "cannot be read"},
		{"no such file", cs.ClientCert, filepath.Join(dir, "gone.pem"), "cannot read the key file"},
		{"certificate not PEM", cs.ClientKey, cs.ClientKey, "holds no certificate"},
		{"no certificate chosen", "", cs.ClientKey, "choose the client certificate first"},
		{"no key chosen", cs.ClientCert, " ", "choose the client key file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "settings.json")
			st, _ := openSettings(path)
			a := NewApp(&fakeEngine{}, &fakeQueue{}, st, (&recorder{}).emit)
			secrets := &lastingKeyring{}
			a.secrets = secrets
			s, err := a.SetClientKey(tt.cert, tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			t.Logf("%s", formatError(err))
			if strings.Contains(err.Error(), keyBody(t, cs.ClientKey)) || strings.Contains(err.Error(), keyBody(t, cs.ServerKey)) {
				t.Error("the message quotes the key")
			}
			if s.CertFile != "" || s.ClientKey != "" || len(secrets.m) != 0 {
				t.Errorf("after a refusal: settings %+v, keyring %d entries", s, len(secrets.m))
			}
		})
	}

	// A new certificate must fit the key kept.
	st, _ := openSettings("")
	a := NewApp(&fakeEngine{}, &fakeQueue{}, st, (&recorder{}).emit)
	if _, err := a.SetClientKey(cs.ClientCert, cs.ClientKey); err != nil {
		t.Fatal(err)
	}
	s := a.GetSettings()
	s.CertFile = cs.ServerCert
	if _, err := a.SaveSettings(s); err == nil || !strings.Contains(err.Error(), "not the key of the certificate") {
		t.Errorf("a certificate that does not fit the kept key: %v", err)
	}
}

// Settings that change how the server is dialled make the engine dial
// again; others do not.
func TestConnectionChangesReconnect(t *testing.T) {
	cs := writeCerts(t)
	eng := &reconnects{}
	st, _ := openSettings("")
	a := NewApp(eng, &fakeQueue{}, st, (&recorder{}).emit)
	steps := []struct {
		name   string
		do     func() error
		redial bool
	}{
		{"same settings", func() error { _, err := a.SaveSettings(a.GetSettings()); return err }, false},
		{"model", func() error { s := a.GetSettings(); s.Model = "canary-1b"; _, err := a.SaveSettings(s); return err }, false},
		{"cache folder", func() error { s := a.GetSettings(); s.CacheDir = t.TempDir(); _, err := a.SaveSettings(s); return err }, false},
		{"TLS on", func() error { s := a.GetSettings(); s.TLS = true; _, err := a.SaveSettings(s); return err }, true},
		{"CA file", func() error { s := a.GetSettings(); s.CAFile = cs.CA; _, err := a.SaveSettings(s); return err }, true},
		{"server name", func() error { s := a.GetSettings(); s.ServerName = "gpu"; _, err := a.SaveSettings(s); return err }, true},
		{"header added", func() error { _, err := a.SetHeader("Authorization", "Bearer a"); return err }, true},
		{"header value changed", func() error { _, err := a.SetHeader("Authorization", "Bearer b"); return err }, true},
		{"client key", func() error { _, err := a.SetClientKey(cs.ClientCert, cs.ClientKey); return err }, true},
		{"client certificate removed", func() error { _, err := a.RemoveClientCert(); return err }, true},
		{"refused settings", func() error { s := a.GetSettings(); s.TLS = false; s.Server = ""; _, _ = a.SaveSettings(s); return nil }, false},
	}
	for _, step := range steps {
		before := eng.count()
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := eng.count() > before; got != step.redial {
			t.Errorf("%s: reconnected %v, want %v", step.name, got, step.redial)
		}
	}
}

// A header changed in Settings is on the next request of the running
// app's engine: no restart.
func TestNewHeaderValueWithoutRestart(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	addr := tritontest.Start(t, tritontest.Options{Inspect: func(ctx context.Context, _ *pb.ModelInferRequest) {
		md, _ := metadata.FromIncomingContext(ctx)
		mu.Lock()
		seen = append(seen, strings.Join(md.Get("authorization"), ","))
		mu.Unlock()
	}})
	src := filepath.Join(t.TempDir(), "one.wav")
	samples := dtmf.Synthesize([]dtmf.Press{{Key: '7', Start: 0.5, End: 0.7}}, 16000, 2, dtmf.SynthOptions{NoiseDB: -40, Seed: 1})
	var buf bytes.Buffer
	if err := audio.WriteWAV(&buf, samples, 16000, 1, audio.PCM16); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(src, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ := openSettings("")
	var a *App
	eng, err := transcribe.Open(transcribe.Config{CacheDir: t.TempDir(), Connect: func(addr string) (*inference.Server, error) { return a.connect(addr) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	a = NewApp(eng, &fakeQueue{}, st, (&recorder{}).emit)
	for _, token := range []string{"Bearer one", "Bearer two"} {
		if _, err := a.SetHeader("Authorization", token); err != nil {
			t.Fatal(err)
		}
		res, err := eng.Transcribe(context.Background(), transcribe.Request{Path: src, Server: addr, Model: "dtmf"}, nil)
		if err != nil || res.Transcript.Text != "7" {
			t.Fatalf("%q, %v", res.Transcript.Text, err)
		}
		mu.Lock()
		last := seen[len(seen)-1]
		mu.Unlock()
		if last != token {
			t.Errorf("the request after setting %q carried %q", token, last)
		}
	}
}

// A settings.json from before the keyring kept the key (keyFile set) goes
// on working: the key moves into the keyring at start and the path is
// cleared, which the log says without quoting the key. Where secrets live
// only in memory, or the key cannot be used, the file stays in use.
func TestOldKeyFileMovesIntoTheKeyring(t *testing.T) {
	cs := writeCerts(t)
	tests := []struct {
		name     string
		secrets  SecretStore
		key      string
		moved    bool
		wantLog  string
		wantConf inference.TLSConfig
	}{
		{"keyring", &lastingKeyring{}, cs.ClientKey, true, "is now kept in the system keyring",
			inference.TLSConfig{Enabled: true, CertFile: cs.ClientCert, KeyPEM: readBytes(t, cs.ClientKey)}},
		{"memory only", &memSecrets{}, cs.ClientKey, false, "",
			inference.TLSConfig{Enabled: true, CertFile: cs.ClientCert, KeyFile: cs.ClientKey}},
		{"key of another certificate", &lastingKeyring{}, cs.ServerKey, false, "was not moved into the keyring and is still used from there",
			inference.TLSConfig{Enabled: true, CertFile: cs.ClientCert, KeyFile: cs.ServerKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "settings.json")
			old := `{"server": "gpu:8001", "model": "parakeet-tdt-0.6b-v2", "tls": true, "certFile": "` + cs.ClientCert + `", "keyFile": "` + tt.key + `"}`
			if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			log.SetOutput(&logs)
			t.Cleanup(func() { log.SetOutput(os.Stderr) })

			st, err := openSettings(path)
			if err != nil {
				t.Fatal(err)
			}
			a := NewApp(&fakeEngine{}, &fakeQueue{}, st, (&recorder{}).emit)
			a.secrets = tt.secrets
			a.migrateKeyFile() // as main does at start
			s := a.GetSettings()
			if moved := s.KeyFile == "" && s.ClientKey == filepath.Base(tt.key); moved != tt.moved {
				t.Fatalf("settings %+v: moved %v, want %v", s, moved, tt.moved)
			}
			if tt.moved {
				file := readBytes(t, path)
				if bytes.Contains(file, []byte(tt.key)) || bytes.Contains(file, []byte("PRIVATE KEY")) {
					t.Errorf("settings file after the move:\n%s", file)
				}
			}
			if got := logs.String(); strings.Count(got, "client key") != min(1, len(tt.wantLog)) || !strings.Contains(got, tt.wantLog) || strings.Contains(got, keyBody(t, tt.key)) {
				t.Errorf("log:\n%s", got)
			}
			cfg, err := a.connConfig("gpu:8001")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.TLS, tt.wantConf) {
				t.Errorf("TLS %+v, want %+v", cfg.TLS, tt.wantConf)
			}
		})
	}
}

// Long secrets are kept in parts no keyring refuses; a shorter one
// written later leaves no part of the longer behind.
func TestLongSecretsAreKeptInParts(t *testing.T) {
	k := &lastingKeyring{}
	long := strings.Repeat("0123456789abcdef", 300) // 4800 bytes: an RSA-4096 key in PEM is about 3200
	if err := putSecret(k, clientKeySecret, long); err != nil {
		t.Fatal(err)
	}
	if got, _ := getSecret(k, clientKeySecret); got != long || len(k.m) != 3 {
		t.Fatalf("read back %d bytes from %d entries", len(got), len(k.m))
	}
	if err := putSecret(k, clientKeySecret, "short"); err != nil {
		t.Fatal(err)
	}
	if got, _ := getSecret(k, clientKeySecret); got != "short" || len(k.m) != 1 {
		t.Fatalf("read back %q from %d entries", got, len(k.m))
	}
	if err := deleteSecret(k, clientKeySecret); err != nil || len(k.m) != 0 {
		t.Fatalf("after delete: %d entries, %v", len(k.m), err)
	}
	if err := putSecret(k, clientKeySecret, strings.Repeat("x", secretPart*maxSecretParts+1)); err == nil {
		t.Error("a secret too long for the keyring was taken")
	}
}

// The certificate and cache pickers go through the dialog seams with a
// title of their own.
func TestSettingsPickers(t *testing.T) {
	a := NewApp(&fakeEngine{}, &fakeQueue{}, mustSettings(t), (&recorder{}).emit)
	if _, err := a.PickPEMFile("key"); err == nil {
		t.Error("a picker before the window is ready")
	}
	var titles []string
	answer := []string{"/certs/client.pem"}
	a.openFiles = func(o runtime.OpenDialogOptions) ([]string, error) {
		titles = append(titles, o.Title)
		return answer, nil
	}
	a.pickDir = func(title string) (string, error) { titles = append(titles, title); return "/big/disk/cache", nil }
	for _, kind := range []string{"ca", "cert", "key"} {
		if p, err := a.PickPEMFile(kind); err != nil || p != "/certs/client.pem" {
			t.Errorf("%s: %q, %v", kind, p, err)
		}
	}
	if _, err := a.PickPEMFile("pfx"); err == nil {
		t.Error("an unknown kind was taken")
	}
	answer = nil
	if p, err := a.PickPEMFile("ca"); err != nil || p != "" {
		t.Errorf("cancelled: %q, %v", p, err)
	}
	answer = []string{"/a.pem", "/b.pem"}
	if _, err := a.PickPEMFile("ca"); err == nil {
		t.Error("two files were taken for one")
	}
	if d, err := a.PickCacheFolder(); err != nil || d != "/big/disk/cache" {
		t.Errorf("cache folder: %q, %v", d, err)
	}
	want := []string{pemDialogs["ca"], pemDialogs["cert"], pemDialogs["key"], pemDialogs["ca"], pemDialogs["ca"], "Choose the cache folder"}
	if !reflect.DeepEqual(titles, want) {
		t.Errorf("titles %q, want %q", titles, want)
	}
}

func mustSettings(t *testing.T) *settingsFile {
	t.Helper()
	st, err := openSettings("")
	if err != nil {
		t.Fatal(err)
	}
	return st
}
