package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// speakerHistory makes a data folder holding entry 1, diarized with
// Speaker 1 and Speaker 2, and entry 2, not diarized.
func speakerHistory(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	segs := []transcript.Segment{
		{Start: 0, End: 1, Text: "Morning all.", Speaker: "Speaker 1", Words: []transcript.Word{
			{Word: "Morning", Start: 0, End: 0.4, Speaker: "Speaker 1"}, {Word: "all.", Start: 0.5, End: 1, Speaker: "Speaker 1"}}},
		{Start: 1.5, End: 2.5, Text: "Hi there.", Speaker: "Speaker 2", Words: []transcript.Word{
			{Word: "Hi", Start: 1.5, End: 1.9, Speaker: "Speaker 2"}, {Word: "there.", Start: 2, End: 2.5, Speaker: "Speaker 2"}}},
	}
	ctx := context.Background()
	if _, err := db.PutTranscript(ctx, store.Entry{Plan: "a", Source: "/rec/standup.wav", Model: "m", Duration: 3},
		transcript.Transcript{Source: "/rec/standup.wav", Duration: 3, Segments: segs, Text: transcript.FullText(segs),
			Speakers: []transcript.Speaker{{ID: "S1", Label: "Speaker 1", Seconds: 1}, {ID: "S2", Label: "Speaker 2", Seconds: 1}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutTranscript(ctx, store.Entry{Plan: "b", Source: "/rec/memo.wav", Model: "m", Duration: 1},
		transcript.Transcript{Text: "buy milk", Segments: []transcript.Segment{{Start: 0, End: 1, Text: "buy milk"}}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestHistoryShowsSearchesAndRenamesSpeakers(t *testing.T) {
	dir := speakerHistory(t)
	h := func(args ...string) cliResult {
		return runCLI(t, append([]string{"history", args[0], "--data-dir", dir}, args[1:]...)...)
	}

	r := h("list")
	if r.code != 0 || !strings.Contains(r.stdout, "SPEAKERS") || !strings.Contains(r.stdout, "Speaker 1, Speaker 2") {
		t.Fatalf("list: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var entries []store.Entry
	if r := h("list", "--json"); json.Unmarshal([]byte(r.stdout), &entries) != nil || len(entries) != 2 ||
		len(entries[1].Speakers) != 2 || entries[1].Speakers[1] != (transcript.Speaker{ID: "S2", Label: "Speaker 2", Seconds: 1}) || entries[0].Speakers != nil {
		t.Fatalf("list --json: %s", r.stdout)
	}
	if r := h("search", "speaker"); r.code != 0 || !strings.HasPrefix(r.stdout, "1  ") || !strings.Contains(r.stdout, "standup.wav  0:03  Speaker 1, Speaker 2\n") {
		t.Fatalf("search: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // a part of it
		stderr string // a part of it; "" = nothing
	}{
		{"by name", []string{"1", "Speaker 2", "Ana  Lima"}, 0, `1: S2 "Speaker 2" -> "Ana Lima"` + "\n", ""},
		{"by id, flags after", []string{"1", "s1", "Bea", "--data-dir", dir}, 0, `1: S1 "Speaker 1" -> "Bea"`, ""},
		{"the old name is gone", []string{"1", "Speaker 2", "Cy"}, 1, "",
			`nemo-transcribe: 1: no such speaker "Speaker 2" (the speakers are Bea (S1), Ana Lima (S2))`},
		{"another speaker's name", []string{"1", "Bea", "ana lima"}, 1, "", "merge the two speakers"},
		{"an unknown entry", []string{"7", "S1", "X"}, 1, "", "no history entry 7 (see history list)"},
		{"not diarized", []string{"2", "S1", "X"}, 1, "", "entry 2 has no speakers"},
		{"too few arguments", []string{"1", "Bea"}, 2, "", "give ID OLD NEW"},
		{"too many arguments", []string{"1", "Bea", "Dr.", "Bea"}, 2, "", "quote names with spaces"},
		{"not an ID", []string{"one", "S1", "X"}, 2, "", `"one" is not an entry ID`},
		{"an empty name", []string{"1", "S1", " "}, 2, "", "cannot be empty"},
	}
	for _, tt := range tests {
		r := h(append([]string{"rename-speaker"}, tt.args...)...)
		if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || (tt.stderr == "" && r.stderr != "") || !strings.Contains(r.stderr, tt.stderr) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d, %q, %q", tt.name, r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
		}
	}

	// The names are kept: found by search, listed, exported.
	if r := h("search", "ana"); r.code != 0 || !strings.Contains(r.stdout, "Bea, Ana Lima") {
		t.Errorf("search for the new name: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := h("search", "speaker"); r.code != 0 || r.stdout != "" {
		t.Errorf("search for the old names: exit %d %q", r.code, r.stdout)
	}
	if r := h("export", "--out", "-", "--format", "vtt", "1"); r.code != 0 || !strings.Contains(r.stdout, "<v Ana Lima>Hi there.") || !strings.Contains(r.stdout, "<v Bea>Morning all.") {
		t.Errorf("export: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// A history without diarized entries is listed as it always was.
func TestHistoryListWithoutSpeakers(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PutTranscript(context.Background(), store.Entry{Plan: "b", Source: "/rec/memo.wav", Model: "m"},
		transcript.Transcript{Text: "buy milk", Segments: []transcript.Segment{{Start: 0, End: 1, Text: "buy milk"}}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	r := runCLI(t, "history", "list", "--data-dir", dir)
	if r.code != 0 || strings.Contains(r.stdout, "SPEAKERS") || !strings.HasPrefix(r.stdout, "ID  WHEN") {
		t.Errorf("list: exit %d\n%s", r.code, r.stdout)
	}
	if r := runCLI(t, "history", "list", "--json", "--data-dir", dir); strings.Contains(r.stdout, "speakers") {
		t.Errorf("list --json: %s", r.stdout)
	}
}
