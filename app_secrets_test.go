package main

import (
	"os"
	"path/filepath"
	"reflect"
	goruntime "runtime"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
)

func TestHeadersKeepTheirValuesOutOfTheSettingsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	st, err := openSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	secrets := &memSecrets{}
	a := NewApp(&fakeEngine{}, &fakeQueue{}, st, (&recorder{}).emit)
	a.secrets = secrets

	if _, err := a.SetHeader("authorization", "Bearer s3cret-token"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SetHeader("X-Team", "speech"); err != nil {
		t.Fatal(err)
	}
	cs := writeCerts(t)
	if _, err := a.SetClientKey(cs.ClientCert, cs.ClientKey); err != nil {
		t.Fatal(err)
	}
	s := a.settings.Get()
	s.TLS, s.CAFile, s.ServerName = true, "/ca.pem", "triton.internal"
	if _, err := a.SaveSettings(s); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), `"headerNames": "Authorization,X-Team"`) {
		t.Errorf("settings file:\n%s", b)
	}

	cfg, err := a.connConfig("gpu1:8001, gpu2:8001")
	if err != nil {
		t.Fatal(err)
	}
	want := inference.Config{
		Addresses: []string{"gpu1:8001", "gpu2:8001"},
		TLS:       inference.TLSConfig{Enabled: true, CAFile: "/ca.pem", CertFile: cs.ClientCert, KeyPEM: readBytes(t, cs.ClientKey), ServerName: "triton.internal"},
		Headers:   map[string]string{"Authorization": "Bearer s3cret-token", "X-Team": "speech"},
		Retry:     inference.DefaultRetryPolicy(),
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config %+v, want %+v", cfg, want)
	}

	// An empty value removes the header, from the settings and the keyring.
	if _, err := a.SetHeader("Authorization", ""); err != nil {
		t.Fatal(err)
	}
	if v, _ := secrets.Get(headerKey("Authorization")); v != "" || a.settings.Get().HeaderNames != "X-Team" {
		t.Errorf("after removal: secret %q, names %q", v, a.settings.Get().HeaderNames)
	}
	if _, err := a.SetHeader("Bad Name", "x"); err == nil {
		t.Error("a header name with a space was accepted")
	}
	s, _ = a.RemoveClientCert()
	s.CertFile = cs.ClientCert
	if _, err := a.SaveSettings(s); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Errorf("a certificate without its key: %v", err)
	}
}

func TestNoSessionBusMeansSecretsInMemory(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	if goruntime.GOOS != "linux" {
		t.Skip("the session bus is a Linux matter")
	}
	if _, ok := openSecrets().(*memSecrets); !ok {
		t.Error("without a session bus the secrets are not kept in memory")
	}
}
