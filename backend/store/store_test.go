package store

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

func open(t *testing.T, dir string) *DB {
	t.Helper()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestOpenCreatesFolderAndUsesWAL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	d := open(t, dir)
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := d.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal mode %q, %v", mode, err)
	}
	d.Close()
	// Opening again keeps the data and does not re-run migrations.
	d2 := open(t, dir)
	if err := d2.SetSetting(context.Background(), "server", "gpu:8001"); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := d2.Setting(context.Background(), "server"); v != "gpu:8001" || !ok || err != nil {
		t.Fatalf("setting %q %v %v", v, ok, err)
	}
	if _, ok, _ := d2.Setting(context.Background(), "absent"); ok {
		t.Error("absent setting found")
	}
}

func TestOddFolderNames(t *testing.T) {
	names := []string{"100% done", "#1 folder", "spaces and ümlauts"}
	if runtime.GOOS != "windows" { // not a valid name there
		names = append(names, "what?")
	}
	for _, name := range names {
		dir := filepath.Join(t.TempDir(), name)
		d := open(t, dir)
		if err := d.SetSetting(context.Background(), "k", "v"); err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
			t.Errorf("%q: database not where expected: %v", name, err)
		}
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	if _, err := d.db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "newer version") {
		t.Fatalf("err = %v", err)
	}
}

func TestChunksSurviveReopenAndAreDroppedWithTheTranscript(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d := open(t, dir)
	r := transcript.ChunkResult{Text: "1 2", Words: []transcript.Word{{Word: "1", Start: 0.5, End: 0.7}, {Word: "2", Start: 1, End: 1.2}},
		Segments: []transcript.Segment{{Start: 0.5, End: 1.2, Text: "1 2"}}}
	for i := range 3 {
		if err := d.PutChunk(ctx, Chunk{Plan: "p", Index: i, Offset: int64(i) * 480000, Samples: 480000, AudioHash: "h", Result: r}); err != nil {
			t.Fatal(err)
		}
	}
	// A second write of the same chunk replaces it.
	if err := d.PutChunk(ctx, Chunk{Plan: "p", Index: 2, Offset: 960000, Samples: 1000, AudioHash: "h2", Result: r}); err != nil {
		t.Fatal(err)
	}
	if err := d.PutChunk(ctx, Chunk{Plan: "other", Index: 0, Result: r}); err != nil {
		t.Fatal(err)
	}
	d.Close()

	d = open(t, dir)
	got, err := d.Chunks(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].Samples != 1000 || got[2].AudioHash != "h2" || got[1].Offset != 480000 {
		t.Fatalf("chunks %+v", got)
	}
	if g := got[0].Result; g.Text != r.Text || len(g.Words) != 2 || g.Words[1] != r.Words[1] || len(g.Segments) != 1 {
		t.Fatalf("result %+v", g)
	}
	if _, err := d.PutTranscript(ctx, Entry{Plan: "p", Source: "/x/a.wav"}, transcript.Transcript{Text: "1 2"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.CountChunks(ctx, "p"); n != 0 {
		t.Errorf("%d chunks left after the transcript was stored", n)
	}
	if n, _ := d.CountChunks(ctx, "other"); n != 1 {
		t.Errorf("another plan's chunks: %d", n)
	}
	d.now = func() time.Time { return time.Now().Add(-40 * 24 * time.Hour) }
	d.PutChunk(ctx, Chunk{Plan: "old", Index: 0, Result: r})
	if n, err := d.PruneChunks(ctx, time.Now().Add(-30*24*time.Hour)); n != 1 || err != nil {
		t.Errorf("pruned %d, %v", n, err)
	}
	if all, _ := d.CountAllChunks(ctx); all != 1 {
		t.Errorf("%d chunks left, want the recent one", all)
	}
	if err := d.DropChunks(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.CountChunks(ctx, "other"); n != 0 {
		t.Errorf("DropChunks left %d", n)
	}
}

func TestTranscriptsHistoryAndSearch(t *testing.T) {
	ctx := context.Background()
	d := open(t, t.TempDir())
	clock := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	d.now = func() time.Time { clock = clock.Add(time.Second); return clock }

	put := func(plan, source, text string) int64 {
		t.Helper()
		tr := transcript.Transcript{Source: source, SHA256: "s-" + plan, Duration: 12.5, Model: "m", Text: text,
			Segments: []transcript.Segment{{Start: 0, End: 1, Text: text, Words: []transcript.Word{}}}}
		id, err := d.PutTranscript(ctx, Entry{Plan: plan, Source: source, SHA256: "s-" + plan, Server: "gpu:8001", Model: "m",
			ModelVersion: "1", Options: json.RawMessage(`{"timestamps":true}`), Duration: 12.5}, tr)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	a := put("pa", "/rec/Standup Monday.wav", "Good morning everyone, the build is green.")
	b := put("pb", `C:\Users\zoë\Entrevista.wav`, "Café déjà vu: naïve Zoë talks about the weather.")
	c := put("pc", "/rec/notes.wav", "Quarterly numbers: revenue up, costs down.")

	// Same plan again: same entry, new source, moved to the top.
	if again := put("pa", "/rec/copy of standup.wav", "Good morning everyone, the build is green."); again != a {
		t.Fatalf("same plan stored as %d, want %d", again, a)
	}
	hist, err := d.History(ctx, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[0].ID != a || hist[1].ID != c || hist[2].ID != b {
		t.Fatalf("history order %+v", hist)
	}
	if hist[0].Name != "copy of standup.wav" || hist[2].Name != "Entrevista.wav" || string(hist[0].Options) != `{"timestamps":true}` {
		t.Errorf("entries %+v", hist)
	}
	if page, _ := d.History(ctx, 1, 1); len(page) != 1 || page[0].ID != c {
		t.Errorf("page %+v", page)
	}

	tests := []struct {
		query string
		want  []int64
	}{
		{"build", []int64{a}},
		{"cafe", []int64{b}},           // diacritics folded
		{"ZOE weather", []int64{b}},    // case folded, all words required
		{"rev", []int64{c}},            // the last word is a prefix
		{"standup", []int64{a}},        // file names are searched too
		{`revenue "costs`, []int64{c}}, // a stray quote is text
		{"-build", []int64{a}},         // so is FTS syntax
		{"morning weather", []int64{}}, // no entry has both
		{"entrevista", []int64{b}},
	}
	for _, tt := range tests {
		hits, err := d.Search(ctx, tt.query, SearchOptions{})
		if err != nil {
			t.Errorf("%q: %v", tt.query, err)
			continue
		}
		var ids []int64
		for _, h := range hits {
			ids = append(ids, h.ID)
		}
		if len(ids) != len(tt.want) || (len(ids) > 0 && ids[0] != tt.want[0]) {
			t.Errorf("search %q = %v, want %v", tt.query, ids, tt.want)
		}
	}
	hits, _ := d.Search(ctx, "green", SearchOptions{Open: "<b>", Close: "</b>"})
	if len(hits) != 1 || !strings.Contains(hits[0].Snippet, "<b>green</b>") {
		t.Errorf("snippet %+v", hits)
	}
	if _, err := d.Search(ctx, "   ", SearchOptions{}); err == nil {
		t.Error("empty search accepted")
	}

	e, tr, err := d.Transcript(ctx, b)
	if err != nil || tr.Text != "Café déjà vu: naïve Zoë talks about the weather." || e.Server != "gpu:8001" || len(tr.Segments) != 1 {
		t.Fatalf("Transcript: %+v %+v %v", e, tr, err)
	}
	if _, _, ok, err := d.TranscriptFor(ctx, "absent"); ok || err != nil {
		t.Errorf("TranscriptFor(absent) = %v, %v", ok, err)
	}
	if err := d.Touch(ctx, c, "/elsewhere/n.wav"); err != nil {
		t.Fatal(err)
	}
	if hist, _ := d.History(ctx, 1, 0); hist[0].ID != c || hist[0].Name != "n.wav" {
		t.Errorf("after Touch: %+v", hist[0])
	}
	if err := d.DeleteTranscript(ctx, b); err != nil {
		t.Fatal(err)
	}
	if hits, _ := d.Search(ctx, "cafe", SearchOptions{}); len(hits) != 0 {
		t.Errorf("deleted entry still found: %+v", hits)
	}
	if _, _, err := d.Transcript(ctx, b); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted entry: %v", err)
	}
	if err := d.DeleteTranscript(ctx, b); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestJobs(t *testing.T) {
	ctx := context.Background()
	d := open(t, t.TempDir())
	id, err := d.CreateJob(ctx, "/a.wav", map[string]any{"model": "dtmf"}, "queued")
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := d.CreateJob(ctx, "/b.wav", map[string]any{"model": "dtmf"}, "queued")
	msg := "the file is empty"
	if err := d.UpdateJob(ctx, id2, JobUpdate{State: "failed", Error: &msg}); err != nil {
		t.Fatal(err)
	}
	tid, _ := d.PutTranscript(ctx, Entry{Plan: "p", Source: "/a.wav"}, transcript.Transcript{})
	if err := d.UpdateJob(ctx, id, JobUpdate{State: "done", Plan: "p", TranscriptID: tid, Outputs: []string{"/o/a.json"}}); err != nil {
		t.Fatal(err)
	}
	all, err := d.Jobs(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("%+v %v", all, err)
	}
	if j := all[0]; j.State != "done" || j.TranscriptID != tid || j.Outputs[0] != "/o/a.json" || string(j.Settings) != `{"model":"dtmf"}` || j.Plan != "p" {
		t.Errorf("job %+v", j)
	}
	failed, _ := d.Jobs(ctx, "failed", "cancelled")
	if len(failed) != 1 || failed[0].Error != msg || len(failed[0].Outputs) != 0 {
		t.Errorf("failed jobs %+v", failed)
	}
	// Deleting the transcript leaves the job without one.
	d.DeleteTranscript(ctx, tid)
	if all, _ := d.Jobs(ctx, "done"); all[0].TranscriptID != 0 {
		t.Errorf("job still points at a deleted transcript: %+v", all[0])
	}
	if err := d.DeleteJob(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteJob(ctx, id); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

// Two handles on one file (the CLI and the app) write at the same time
// without "database is locked".
func TestTwoProcessesShareTheFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a, b := open(t, dir), open(t, dir)
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for w, d := range []*DB{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				errs <- d.PutChunk(ctx, Chunk{Plan: "p", Index: w*1000 + i, Result: transcript.ChunkResult{Text: "x"}})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := a.CountChunks(ctx, "p"); n != 400 {
		t.Fatalf("%d chunks", n)
	}
}
