package secrets

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/config"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
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

func openSettings(t *testing.T, path string) *config.File {
	t.Helper()
	f, err := config.OpenSettings(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// lastingKeyring is a Store that outlives the app, as the OS keyring
// does; it refuses values longer than Windows' Credential Manager takes.
type lastingKeyring struct{ Memory }

func (*lastingKeyring) Temporary() bool { return false }

func (k *lastingKeyring) Set(key, value string) error {
	if len(value) > 2560 {
		return errors2560
	}
	return k.Memory.Set(key, value)
}

var errors2560 = errors.New("data passed to Set was too big")

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

func TestHeadersKeepTheirValuesOutOfTheSettingsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settings.json")
	f := openSettings(t, path)
	st := &Memory{}

	if _, err := SetHeader(f, st, "authorization", "Bearer s3cret-token"); err != nil {
		t.Fatal(err)
	}
	if _, err := SetHeader(f, st, "X-Team", "speech"); err != nil {
		t.Fatal(err)
	}
	cs := writeCerts(t)
	if _, err := SetClientKey(f, st, cs.ClientCert, cs.ClientKey); err != nil {
		t.Fatal(err)
	}
	s := f.Get()
	s.TLS, s.CAFile, s.ServerName = true, "/ca.pem", "triton.internal"
	if _, err := SaveSettings(f, st, s); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), `"headerNames": "Authorization,X-Team"`) {
		t.Errorf("settings file:\n%s", b)
	}

	cfg, err := Config(f.Get(), st, "gpu1:8001, gpu2:8001")
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
	if _, err := SetHeader(f, st, "Authorization", ""); err != nil {
		t.Fatal(err)
	}
	if v, _ := st.Get(HeaderKey("Authorization")); v != "" || f.Get().HeaderNames != "X-Team" {
		t.Errorf("after removal: secret %q, names %q", v, f.Get().HeaderNames)
	}
	if _, err := SetHeader(f, st, "Bad Name", "x"); err == nil {
		t.Error("a header name with a space was accepted")
	}
	s, _ = RemoveClientCert(f, st)
	s.CertFile = cs.ClientCert
	if _, err := SaveSettings(f, st, s); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Errorf("a certificate without its key: %v", err)
	}
}

// A client key the settings name but the keyring lost (another machine's
// settings file, a wiped keyring) is a TLS error that says what to do.
func TestConfigWithTheKeyGone(t *testing.T) {
	s := config.Defaults()
	s.TLS, s.CertFile, s.ClientKey = true, "/c.pem", "client-key.pem"
	_, err := Config(s, &Memory{}, "gpu:8001")
	if apperr.CodeOf(err) != apperr.CodeTLS || !strings.Contains(err.Error(), "choose the key file again") {
		t.Errorf("error %v, want a TLS error asking for the key file", err)
	}
}

func TestNoSessionBusMeansSecretsInMemory(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	if runtime.GOOS != "linux" {
		t.Skip("the session bus is a Linux matter")
	}
	if _, ok := Open().(*Memory); !ok {
		t.Error("without a session bus the secrets are not kept in memory")
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
			f := openSettings(t, filepath.Join(t.TempDir(), "settings.json"))
			st := &lastingKeyring{}
			s, err := SetClientKey(f, st, tt.cert, tt.key)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			t.Logf("%s", apperr.Message(err))
			if strings.Contains(err.Error(), keyBody(t, cs.ClientKey)) || strings.Contains(err.Error(), keyBody(t, cs.ServerKey)) {
				t.Error("the message quotes the key")
			}
			if s.CertFile != "" || s.ClientKey != "" || st.Len() != 0 {
				t.Errorf("after a refusal: settings %+v, keyring %d entries", s, st.Len())
			}
		})
	}

	// A new certificate must fit the key kept.
	f := openSettings(t, "")
	st := &Memory{}
	if _, err := SetClientKey(f, st, cs.ClientCert, cs.ClientKey); err != nil {
		t.Fatal(err)
	}
	s := f.Get()
	s.CertFile = cs.ServerCert
	if _, err := SaveSettings(f, st, s); err == nil || !strings.Contains(err.Error(), "not the key of the certificate") {
		t.Errorf("a certificate that does not fit the kept key: %v", err)
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
		secrets  Store
		key      string
		moved    bool
		wantLog  string
		wantConf inference.TLSConfig
	}{
		{"keyring", &lastingKeyring{}, cs.ClientKey, true, "is now kept in the system keyring",
			inference.TLSConfig{Enabled: true, CertFile: cs.ClientCert, KeyPEM: readBytes(t, cs.ClientKey)}},
		{"memory only", &Memory{}, cs.ClientKey, false, "",
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

			f := openSettings(t, path)
			MigrateKeyFile(f, tt.secrets) // as the app does at start
			s := f.Get()
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
			cfg, err := Config(f.Get(), tt.secrets, "gpu:8001")
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
	if err := Put(k, ClientKey, long); err != nil {
		t.Fatal(err)
	}
	if got, _ := Get(k, ClientKey); got != long || k.Len() != 3 {
		t.Fatalf("read back %d bytes from %d entries", len(got), k.Len())
	}
	if err := Put(k, ClientKey, "short"); err != nil {
		t.Fatal(err)
	}
	if got, _ := Get(k, ClientKey); got != "short" || k.Len() != 1 {
		t.Fatalf("read back %q from %d entries", got, k.Len())
	}
	if err := Delete(k, ClientKey); err != nil || k.Len() != 0 {
		t.Fatalf("after delete: %d entries, %v", k.Len(), err)
	}
	if err := Put(k, ClientKey, strings.Repeat("x", partSize*maxParts+1)); err == nil {
		t.Error("a secret too long for the keyring was taken")
	}
}

func TestForgetful(t *testing.T) {
	for _, tt := range []struct {
		name string
		st   Store
		want bool
	}{
		{"memory", &Memory{}, true},
		{"a keyring that lasts", &lastingKeyring{}, false},
		{"the OS keyring", OSKeyring{}, false},
	} {
		if got := Forgetful(tt.st); got != tt.want {
			t.Errorf("%s: Forgetful = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSplitList(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" , ,", nil},
		{"gpu1:8001, gpu2:8001", []string{"gpu1:8001", "gpu2:8001"}},
		{"Authorization,X-Team,Authorization", []string{"Authorization", "X-Team"}},
	} {
		if got := SplitList(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
