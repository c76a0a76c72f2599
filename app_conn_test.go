package main

import (
	"bytes"
	"context"
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
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/secrets"
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

// reconnects is an engine that counts Reconnect calls.
type reconnects struct {
	fakeEngine
	mu sync.Mutex
	n  int
}

func (r *reconnects) Reconnect() { r.mu.Lock(); r.n++; r.mu.Unlock() }
func (r *reconnects) count() int { r.mu.Lock(); defer r.mu.Unlock(); return r.n }

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
	st, err := config.OpenSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := &secrets.Memory{}
	var a *App
	eng, err := transcribe.Open(transcribe.Config{Connect: func(addr string) (*inference.Server, error) { return a.connect(addr) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	a = NewApp(eng, &fakeQueue{}, st, (&recorder{}).emit)
	a.secrets = keys

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
	// A run of the key's base64 body: finding it anywhere means the key leaked.
	keyBody := strings.Split(string(readBytes(t, cs.ClientKey)), "\n")[1][:40]
	file := readBytes(t, path)
	if bytes.Contains(file, []byte("PRIVATE KEY")) || bytes.Contains(file, []byte(keyBody)) || !bytes.Contains(file, []byte(`"clientKey": "client-key.pem"`)) {
		t.Errorf("settings file after choosing the key:\n%s", file)
	}
	kept, _ := secrets.Get(keys, secrets.ClientKey)
	if !strings.Contains(kept, keyBody) {
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
	if v, _ := secrets.Get(keys, secrets.ClientKey); v != "" {
		t.Error("the key stayed in the keyring after its certificate was removed")
	}
	if _, err := a.ServerStatus(""); err == nil {
		t.Error("the old key was still used after it was removed")
	}
}

// Settings that change how the server is dialled make the engine dial
// again; others do not.
func TestConnectionChangesReconnect(t *testing.T) {
	cs := writeCerts(t)
	eng := &reconnects{}
	st := mustSettings(t)
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
	st := mustSettings(t)
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

func mustSettings(t *testing.T) *config.File {
	t.Helper()
	st, err := config.OpenSettings("")
	if err != nil {
		t.Fatal(err)
	}
	return st
}
