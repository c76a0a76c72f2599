package history

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// entries is a Source: past transcripts by id, one segment each.
type entries map[int64]string // id -> source path; the text is "text of <id>"

func (m entries) Transcript(_ context.Context, id int64) (store.Entry, transcript.Transcript, error) {
	src, ok := m[id]
	if !ok {
		return store.Entry{}, transcript.Transcript{}, fmt.Errorf("transcript %d: %w", id, store.ErrNotFound)
	}
	text := fmt.Sprint("text of ", id)
	t := transcript.Transcript{Source: "/stored/elsewhere.wav", Text: text, Segments: []transcript.Segment{{Start: 0, End: 1, Text: text}}}
	return store.Entry{ID: id, Source: src, Name: filepath.Base(src)}, t, nil
}

func TestExportNamesAndPlaces(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	src := entries{
		1: filepath.Join(a, "talk.wav"), 2: filepath.Join(b, "talk.wav"), 3: filepath.Join(c, "Talk.mp3"),
		4: filepath.Join(a, "memo.wav"), 5: filepath.Join(a, "moved away", "memo.wav"), 6: "relative/memo.wav",
	}
	out := filepath.Join(t.TempDir(), "out")
	tests := []struct {
		name    string
		ids     []int64
		outDir  string
		written [][]string // per id; nil = failed
		errIs   []error    // per id; nil = no error
	}{
		{name: "one folder: names alike are told apart, ignoring case",
			ids: []int64{1, 2, 3, 4}, outDir: out,
			written: [][]string{{filepath.Join(out, "talk.txt")}, {filepath.Join(out, "talk (2).txt")}, {filepath.Join(out, "Talk (3).txt")}, {filepath.Join(out, "memo.txt")}},
			errIs:   make([]error, 4)},
		{name: "next to the source: each folder has its own names",
			ids:     []int64{1, 2, 4},
			written: [][]string{{filepath.Join(a, "talk.txt")}, {filepath.Join(b, "talk.txt")}, {filepath.Join(a, "memo.txt")}},
			errIs:   make([]error, 3)},
		{name: "an entry that is gone and source folders that are not there",
			ids: []int64{999, 5, 6}, written: make([][]string, 3),
			errIs: []error{store.ErrNotFound, ErrNoSourceFolder, ErrNoSourceFolder}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outs := Export(context.Background(), src, tt.ids, Options{OutDir: tt.outDir, Formats: []string{"txt"}})
			if len(outs) != len(tt.ids) {
				t.Fatalf("%d outcomes for %d entries", len(outs), len(tt.ids))
			}
			for i, o := range outs {
				if o.ID != tt.ids[i] || !reflect.DeepEqual(o.Written, tt.written[i]) {
					t.Errorf("entry %d: %+v, want written %v", tt.ids[i], o, tt.written[i])
				}
				if (tt.errIs[i] == nil) != (o.Err == nil) || (tt.errIs[i] != nil && !errors.Is(o.Err, tt.errIs[i])) {
					t.Errorf("entry %d: error %v, want %v", tt.ids[i], o.Err, tt.errIs[i])
				}
				if o.Err == nil {
					if o.Dir != filepath.Dir(o.Written[0]) {
						t.Errorf("entry %d: folder %q for %v", o.ID, o.Dir, o.Written)
					}
					if b, _ := os.ReadFile(o.Written[0]); !strings.Contains(string(b), fmt.Sprint("text of ", o.ID)) {
						t.Errorf("entry %d wrote %q", o.ID, b)
					}
				}
			}
		})
	}
}

// Files that are there with other content stop the entry with the typed
// error, naming them, until Overwrite; a file with the same content is
// simply written again.
func TestExportExisting(t *testing.T) {
	dir := t.TempDir()
	src := entries{1: filepath.Join(dir, "talk.wav")}
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "talk.txt"), []byte("the user's own notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{OutDir: out, Formats: []string{"srt", "txt"}}

	o := Export(context.Background(), src, []int64{1}, opts)[0]
	var exists *transcribe.OutputExistsError
	if !errors.As(o.Err, &exists) || !reflect.DeepEqual(exists.Paths, []string{filepath.Join(out, "talk.txt")}) || len(o.Written) != 0 {
		t.Fatalf("without overwrite: %+v, want an OutputExistsError naming talk.txt", o)
	}
	if _, err := os.Stat(filepath.Join(out, "talk.srt")); err == nil {
		t.Error("half the entry was written")
	}

	opts.Overwrite = true
	want := []string{filepath.Join(out, "talk.srt"), filepath.Join(out, "talk.txt")}
	if o := Export(context.Background(), src, []int64{1}, opts)[0]; o.Err != nil || !reflect.DeepEqual(o.Written, want) {
		t.Fatalf("with overwrite: %+v", o)
	}
	opts.Overwrite = false
	if o := Export(context.Background(), src, []int64{1}, opts)[0]; o.Err != nil || !reflect.DeepEqual(o.Written, want) {
		t.Errorf("the same content again: %+v", o)
	}
}

func TestExportCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := t.TempDir()
	outs := Export(ctx, entries{1: "/a/talk.wav"}, []int64{1}, Options{OutDir: out, Formats: []string{"txt"}})
	if len(outs) != 1 || !errors.Is(outs[0].Err, context.Canceled) {
		t.Errorf("outcomes %+v, want one cancelled", outs)
	}
	if names, _ := os.ReadDir(out); len(names) != 0 {
		t.Errorf("wrote %v", names)
	}
}

// The transcript is written with the entry's source (where it was last
// transcribed from), not the one stored with its text.
func TestExportUsesTheEntrysSource(t *testing.T) {
	out := t.TempDir()
	o := Export(context.Background(), entries{1: "/rec/meeting notes.wav"}, []int64{1}, Options{OutDir: out, Formats: []string{"md"}})[0]
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	if md, _ := os.ReadFile(o.Written[0]); !strings.HasPrefix(string(md), "# meeting notes.wav\n") {
		t.Errorf("markdown: %q", md)
	}
}
