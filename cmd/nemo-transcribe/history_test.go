package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// Two entries of one name exported into one folder are told apart as
// "name (2)"; files that are there already with other content stop the
// entry, found by the typed error, with a pointer to --overwrite.
func TestHistoryExportNamesAlikeAndExisting(t *testing.T) {
	dataDir := t.TempDir()
	db, err := store.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, src := range []string{"/rec/monday/standup.wav", "/rec/tuesday/standup.wav"} {
		text := "from " + filepath.Base(filepath.Dir(src))
		id, err := db.PutTranscript(context.Background(), store.Entry{Plan: "plan " + src, Source: src, Model: "m"},
			transcript.Transcript{Source: src, Text: text, Segments: []transcript.Segment{{Start: 0, End: 1, Text: text}}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, strconv.FormatInt(id, 10))
	}
	db.Close()
	out := filepath.Join(t.TempDir(), "out")
	export := func(extra ...string) cliResult {
		return runCLI(t, append([]string{"history", "export", "--data-dir", dataDir, "--format", "txt", "--out", out}, append(extra, ids...)...)...)
	}

	r := export()
	if r.code != 0 {
		t.Fatalf("export: exit %d %s", r.code, r.stderr)
	}
	for name, want := range map[string]string{"standup.txt": "from monday", "standup (2).txt": "from tuesday"} {
		if b, err := os.ReadFile(filepath.Join(out, name)); err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %q, %v; want %q", name, b, err, want)
		}
	}
	if !strings.Contains(r.stdout, filepath.Join(out, "standup (2).txt")) {
		t.Errorf("stdout %q does not list the second file", r.stdout)
	}

	// The same export again writes the same content: nothing clashes.
	if r := export(); r.code != 0 {
		t.Errorf("the same export again: exit %d %s", r.code, r.stderr)
	}

	// Another program's file in the way: refused, with the hint, and left alone.
	theirs := filepath.Join(out, "standup (2).txt")
	if err := os.WriteFile(theirs, []byte("someone else's notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		extra    []string
		code     int
		stderr   string // a part of it; "" = nothing
		contents string
	}{
		{"without --overwrite", nil, 1, "already exists (use --overwrite to replace it)", "someone else's notes\n"},
		{"with --overwrite", []string{"--overwrite"}, 0, "", "from tuesday"},
	}
	for _, tt := range tests {
		r := export(tt.extra...)
		if r.code != tt.code || (tt.stderr == "" && r.stderr != "") || !strings.Contains(r.stderr, tt.stderr) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tt.name, r.code, r.stderr, tt.code, tt.stderr)
		}
		if tt.stderr != "" && !strings.HasPrefix(r.stderr, "nemo-transcribe: "+ids[1]+": ") {
			t.Errorf("%s: stderr %q does not name entry %s", tt.name, r.stderr, ids[1])
		}
		if b, _ := os.ReadFile(theirs); !strings.Contains(string(b), tt.contents) {
			t.Errorf("%s: %s holds %q, want %q", tt.name, theirs, b, tt.contents)
		}
	}
}
