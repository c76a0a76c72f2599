package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

func TestExport(t *testing.T) {
	src := t.TempDir()
	touch(t, src, "talk.wav", "other.wav")
	db := openStore(t)
	hid, tr := putTranscript(t, db, filepath.Join(src, "talk.wav"), "one", "two")
	q := &fakeQueue{result: &transcribe.Result{HistoryID: hid, Transcript: tr}}
	a := newTestApp(t, &fakeEngine{}, q, &recorder{})
	a.editStore = db
	a.AddFiles([]string{filepath.Join(src, "talk.wav"), filepath.Join(src, "other.wav")})
	q.jobs[1].State = transcribe.StageDone

	out := filepath.Join(t.TempDir(), "out")
	res, err := a.Export([]int64{1, 2}, []string{"srt", "txt"}, out, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(out, "talk.srt"), filepath.Join(out, "talk.txt")}
	if !reflect.DeepEqual(res.Written, want) || !reflect.DeepEqual(res.Folders, []string{out}) {
		t.Errorf("written %v in %v, want %v", res.Written, res.Folders, want)
	}
	if len(res.Failed) != 1 || res.Failed[0].Path != filepath.Join(src, "other.wav") || !strings.Contains(res.Failed[0].Reason, "not transcribed yet") {
		t.Errorf("failed %+v: want the unfinished job", res.Failed)
	}
	srt, _ := os.ReadFile(want[0])
	if !strings.Contains(string(srt), "00:00:01,500 --> 00:00:02,000\ntwo") {
		t.Errorf("srt:\n%s", srt)
	}

	// An edit changes the file: it is only replaced once the user agrees.
	if err := a.EditSegment(hid, 1, "zwei"); err != nil {
		t.Fatal(err)
	}
	res, err = a.Export([]int64{1}, []string{"srt", "txt"}, out, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Written) != 0 || !reflect.DeepEqual(res.Existing, want) {
		t.Errorf("without overwrite: written %v, existing %v", res.Written, res.Existing)
	}
	res, err = a.Export([]int64{1}, []string{"srt", "txt"}, out, true)
	if err != nil || !reflect.DeepEqual(res.Written, want) {
		t.Fatalf("with overwrite: %+v, %v", res, err)
	}
	if srt, _ := os.ReadFile(want[0]); !strings.Contains(string(srt), "zwei") {
		t.Errorf("the edit is not in the srt:\n%s", srt)
	}

	// Next to the source.
	res, err = a.Export([]int64{1}, []string{"vtt"}, "", false)
	if err != nil || !reflect.DeepEqual(res.Written, []string{filepath.Join(src, "talk.vtt")}) {
		t.Errorf("next to the source: %+v, %v", res, err)
	}

	for _, bad := range []struct {
		ids     []int64
		formats []string
		want    string
	}{
		{nil, []string{"srt"}, "choose a finished transcript"},
		{[]int64{1}, nil, "at least one format"},
		{[]int64{1}, []string{"docx"}, `"docx" is not a format`},
	} {
		if _, err := a.Export(bad.ids, bad.formats, out, false); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Export(%v, %v): %v, want %q", bad.ids, bad.formats, err, bad.want)
		}
	}
}

func TestOpenFolder(t *testing.T) {
	dir := t.TempDir()
	a := newTestApp(t, &fakeEngine{}, &fakeQueue{}, &recorder{})
	if err := a.OpenFolder(dir); err == nil {
		t.Error("no error before startup")
	}
	var opened []string
	a.openURL = func(u string) { opened = append(opened, u) }
	if err := a.OpenFolder(dir); err != nil {
		t.Fatal(err)
	}
	if len(opened) != 1 || opened[0] != "file://"+filepath.ToSlash(dir) {
		t.Errorf("opened %v", opened)
	}
	if err := a.OpenFolder(filepath.Join(dir, "gone")); err == nil || !strings.Contains(err.Error(), "not there any more") {
		t.Errorf("a missing folder: %v", err)
	}
}

func TestExportHistory(t *testing.T) {
	db := openStore(t)
	src, other := t.TempDir(), t.TempDir()
	talk, _ := putTranscript(t, db, filepath.Join(src, "talk.wav"), "one", "two")
	twin, _ := putTranscript(t, db, filepath.Join(other, "talk.wav"), "another talk")
	gone, _ := putTranscript(t, db, filepath.Join(src, "moved away", "memo.wav"), "buy milk")
	a := newTestApp(t, &fakeEngine{}, &fakeQueue{}, &recorder{})
	if _, err := a.ExportHistory([]int64{talk}, []string{"txt"}, "", false); err == nil || !strings.Contains(err.Error(), "history is not available") {
		t.Errorf("without a database: %v", err)
	}
	a.history, a.editStore = db, db
	if err := a.EditSegment(talk, 1, "zwei"); err != nil {
		t.Fatal(err)
	}

	// Into a folder: the edit is in, two files named alike are told apart,
	// an entry that is gone is reported.
	out := filepath.Join(t.TempDir(), "out")
	res, err := a.ExportHistory([]int64{talk, twin, 999}, []string{"txt"}, out, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(out, "talk.txt"), filepath.Join(out, "talk (2).txt")}
	if !reflect.DeepEqual(res.Written, want) || !reflect.DeepEqual(res.Folders, []string{out}) {
		t.Errorf("written %v in %v, want %v", res.Written, res.Folders, want)
	}
	if len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Path, "999") || res.Failed[0].Reason != "It is no longer in the history." {
		t.Errorf("failed %+v", res.Failed)
	}
	if txt, _ := os.ReadFile(want[0]); !strings.Contains(string(txt), "zwei") {
		t.Errorf("the edit is not exported:\n%s", txt)
	}

	// The same rules as the queue's export for files that are there.
	if err := a.EditSegment(talk, 0, "eins"); err != nil {
		t.Fatal(err)
	}
	res, err = a.ExportHistory([]int64{talk}, []string{"txt"}, out, false)
	if err != nil || len(res.Written) != 0 || !reflect.DeepEqual(res.Existing, want[:1]) {
		t.Errorf("without overwrite: %+v, %v", res, err)
	}
	res, err = a.ExportHistory([]int64{talk}, []string{"txt"}, out, true)
	if err != nil || !reflect.DeepEqual(res.Written, want[:1]) {
		t.Errorf("with overwrite: %+v, %v", res, err)
	}

	// Next to the source, whose folder must still be there.
	res, err = a.ExportHistory([]int64{talk, gone}, []string{"srt", "json"}, " ", false)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(src, "talk.srt"), filepath.Join(src, "talk.json")}; !reflect.DeepEqual(res.Written, want) {
		t.Errorf("next to the source: %v, want %v", res.Written, want)
	}
	if len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Reason, "not there any more") {
		t.Errorf("a source folder that is gone: %+v", res.Failed)
	}
	if js, _ := os.ReadFile(filepath.Join(src, "talk.json")); !strings.Contains(string(js), `"eins"`) {
		t.Errorf("json:\n%s", js)
	}

	for _, bad := range []struct {
		ids     []int64
		formats []string
		want    string
	}{
		{nil, []string{"srt"}, "choose a finished transcript"},
		{[]int64{talk}, nil, "at least one format"},
		{[]int64{talk}, []string{"docx"}, `"docx" is not a format`},
	} {
		if _, err := a.ExportHistory(bad.ids, bad.formats, out, false); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ExportHistory(%v, %v): %v, want %q", bad.ids, bad.formats, err, bad.want)
		}
	}
}
