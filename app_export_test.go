package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

func TestExport(t *testing.T) {
	src := t.TempDir()
	touch(t, src, "talk.wav", "other.wav")
	q := &fakeQueue{result: &transcribe.Result{HistoryID: 7, Transcript: transcript.Transcript{
		Text:     "one two",
		Duration: 3,
		Segments: []transcript.Segment{{Start: 0.5, End: 1, Text: "one"}, {Start: 1.5, End: 2.5, Text: "two"}},
	}}}
	a := newTestApp(t, &fakeEngine{}, q, &recorder{})
	a.editStore = memStore{}
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
	if !strings.Contains(string(srt), "00:00:01,500 --> 00:00:02,500\ntwo") {
		t.Errorf("srt:\n%s", srt)
	}

	// An edit changes the file: it is only replaced once the user agrees.
	if err := a.EditSegment(7, 1, "zwei"); err != nil {
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
