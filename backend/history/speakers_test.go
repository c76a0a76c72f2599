package history

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/export"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// A speaker renamed in the history is renamed in every export made
// afterwards, in every format.
func TestExportCarriesRenamedSpeakers(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(t.TempDir())
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
	tr := transcript.Transcript{Source: "/rec/standup.wav", Duration: 3, Segments: segs, Text: transcript.FullText(segs),
		Speakers: []transcript.Speaker{{ID: "S1", Label: "Speaker 1", Seconds: 1}, {ID: "S2", Label: "Speaker 2", Seconds: 1}}}
	id, err := db.PutTranscript(ctx, store.Entry{Plan: "p", Source: tr.Source}, tr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RenameSpeaker(ctx, id, "Speaker 2", "Bea"); err != nil {
		t.Fatal(err)
	}
	outs := Export(ctx, db, []int64{id}, Options{OutDir: t.TempDir(), Formats: export.Formats})
	if outs[0].Err != nil || len(outs[0].Written) != len(export.Formats) {
		t.Fatalf("export: %+v", outs[0])
	}
	want := map[string]string{
		"json": `"label": "Bea"`, "srt": "Bea: Hi there.", "vtt": "<v Bea>Hi there.", "txt": "Bea: Hi there.",
		"csv": "Hi there.,Bea", "md": "**Bea:** Hi there.",
	}
	for _, path := range outs[0].Written {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ext := path[strings.LastIndexByte(path, '.')+1:]
		if !strings.Contains(string(data), want[ext]) || strings.Contains(string(data), "Speaker 2") {
			t.Errorf("%s does not carry the new name %q:\n%s", path, want[ext], data)
		}
	}
}
