//go:build windows

package cache

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOneDriveRootWindows(t *testing.T) {
	env := map[string]string{
		"OneDriveConsumer":   `C:\Users\Ana\OneDrive`,
		"OneDriveCommercial": `C:\Users\Ana\OneDrive - Contoso`,
	}
	tests := []struct {
		dir, want string
	}{
		{`C:\Users\Ana\OneDrive\Dokumente\cache`, `C:\Users\Ana\OneDrive`},
		{`c:\users\ana\onedrive\cache`, `C:\Users\Ana\OneDrive`}, // Windows paths ignore case
		{`C:\Users\Ana\OneDrive - Contoso\cache`, `C:\Users\Ana\OneDrive - Contoso`},
		{`C:\Users\Ana\OneDriveOld\cache`, ""},
		{`C:\Users\Ana\AppData\Local\nemo-transcribe\staging`, ""},
		{`D:\Users\Ana\OneDrive\cache`, ""}, // another drive
	}
	for _, tt := range tests {
		got, ok := oneDriveRoot(tt.dir, func(k string) string { return env[k] })
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("oneDriveRoot(%q) = %q, %v; want %q", tt.dir, got, ok, tt.want)
		}
	}
}

// TestOpenWarnsInsideOneDrive goes through the real environment variable.
func TestOpenWarnsInsideOneDrive(t *testing.T) {
	root := tempDir(t)
	t.Setenv("OneDrive", root)
	c, err := Open(context.Background(), Config{Dir: filepath.Join(strings.ToUpper(root), "Transcripts", "cache")})
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, w := range c.Warnings() {
		if w.Kind == WarnOneDrive && strings.Contains(w.Message, "inside OneDrive") {
			found = true
		}
	}
	if !found {
		t.Errorf("warnings %+v, want one about OneDrive", c.Warnings())
	}
}

// TestTrimSkipsCopiesHeldElsewhere: a copy another program has open cannot
// be deleted on Windows; Trim must move on, not fail or wait.
func TestTrimSkipsCopiesHeldElsewhere(t *testing.T) {
	c := openTest(t, -1)
	a := stage(t, c, source(t, "a.wav", 100, 'a'))
	b := stage(t, c, source(t, "b.wav", 100, 'b'))
	a.Release()
	b.Release()
	f, err := os.Open(a.Path) // no delete sharing, like most programs
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	if err := c.Clear(); err != nil {
		t.Fatal(err)
	}
	if !exists(a.Path) || exists(b.Path) {
		t.Errorf("after Clear: held copy kept = %v, free copy kept = %v; want true, false", exists(a.Path), exists(b.Path))
	}
	f.Close()
	if err := c.Clear(); err != nil || exists(a.Path) {
		t.Errorf("copy still there once let go (%v)", err)
	}
}
