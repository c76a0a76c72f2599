package staging

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestRemoveOrphans(t *testing.T) {
	dir := tempDir(t)
	old := time.Now().Add(-time.Hour)
	files := []struct {
		name     string
		modified time.Time
		wantGone bool
	}{
		{".staging-111.tmp", old, true},               // a crashed copy
		{".staging-222.tmp", time.Now(), false},       // a copy in progress elsewhere
		{hexSum([]byte("kept")) + ".wav", old, false}, // a finished entry
		{"notes.txt", old, false},                     // not ours
		{".staging-333.tmp.keep", old, false},         // not our pattern
		{".talk.srt.123.tmp", old, false},             // an export's temp belongs elsewhere
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.modified, f.modified); err != nil {
			t.Fatal(err)
		}
	}

	removed, err := RemoveOrphans(dir, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}

	if want := []string{filepath.Join(dir, ".staging-111.tmp")}; !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, f := range files {
		_, err := os.Stat(filepath.Join(dir, f.name))
		if gone := os.IsNotExist(err); gone != f.wantGone {
			t.Errorf("%s: gone = %v, want %v", f.name, gone, f.wantGone)
		}
	}
}

func TestRemoveOrphansMissingDir(t *testing.T) {
	if _, err := RemoveOrphans(filepath.Join(tempDir(t), "nope"), 0); !os.IsNotExist(err) {
		t.Errorf("error = %v, want not-exist", err)
	}
}
