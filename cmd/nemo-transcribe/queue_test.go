package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// batchPresses gives file i its own keys at its own times.
func batchPresses(i int) []dtmf.Press {
	const keys = "0123456789*#ABCD"
	var ps []dtmf.Press
	for k := range 3 {
		at := 0.4 + float64(k)*1.7 + float64(i%7)*0.1
		ps = append(ps, dtmf.Press{Key: rune(keys[(i*3+k)%len(keys)]), Start: at, End: at + 0.12 + float64(k)*0.05})
	}
	return ps
}

func wordsOf(tr transcript.Transcript) []transcript.Word {
	var ws []transcript.Word
	for _, s := range tr.Segments {
		ws = append(ws, s.Words...)
	}
	return ws
}

func checkPresses(t *testing.T, name string, tr transcript.Transcript, presses []dtmf.Press) {
	t.Helper()
	ws := wordsOf(tr)
	if len(ws) != len(presses) {
		t.Errorf("%s: %d words %v, want %d", name, len(ws), ws, len(presses))
		return
	}
	for i, p := range presses {
		if w := ws[i]; w.Word != string(p.Key) || math.Abs(w.Start-p.Start) > 0.05 || math.Abs(w.End-p.End) > 0.05 {
			t.Errorf("%s: word %d = %q %.3f..%.3f, want %q %.3f..%.3f", name, i, w.Word, w.Start, w.End, string(p.Key), p.Start, p.End)
		}
	}
}

func serverCount(t *testing.T, addr string) uint64 {
	t.Helper()
	r := runCLI(t, "status", "--server", addr, "--json")
	var st inference.ServerStatus
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil || len(st.Models) == 0 {
		t.Fatalf("status: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	return st.Models[0].InferenceCount
}

// Twenty files and three bad ones in one run: twenty exact results, one
// clear stderr line per bad file in the order given, exit 1.
func TestBatchOfTwentyWithThreeBadFiles(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	var args []string
	var good []string
	for i := range 20 {
		p := filepath.Join(dir, fmt.Sprintf("call-%02d.wav", i))
		writeDTMF(t, p, batchPresses(i), []int{8000, 16000, 22050, 44100, 48000}[i%5], 6)
		good = append(good, p)
		args = append(args, p)
	}
	corrupt := filepath.Join(dir, "corrupt.wav")
	// A WAV header that claims a format chunk longer than the file.
	os.WriteFile(corrupt, []byte("RIFF\x24\x00\x00\x00WAVEfmt \xff\xff\x00\x00\x01\x00\x01\x00"), 0o644)
	empty := filepath.Join(dir, "empty.wav")
	os.WriteFile(empty, nil, 0o644)
	missing := filepath.Join(dir, "missing.wav")
	args = append(args[:5], append([]string{corrupt}, args[5:]...)...)
	args = append(args[:12], append([]string{empty}, args[12:]...)...)
	args = append(args, missing)
	out := filepath.Join(dir, "out")

	r := runCLI(t, append([]string{"transcribe", "--server", addr, "--model", "dtmf", "--out", out, "--format", "json,srt,vtt",
		"--cache-dir", filepath.Join(dir, "cache")}, args...)...)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 3 {
		t.Fatalf("want three stderr lines, got:\n%s", r.stderr)
	}
	for i, c := range []struct{ path, reason string }{{corrupt, "damaged"}, {empty, "empty"}, {missing, "not found"}} {
		if !strings.HasPrefix(lines[i], "nemo-transcribe: "+c.path+": ") || !strings.Contains(lines[i], c.reason) {
			t.Errorf("stderr line %q should name %s and say %q", lines[i], c.path, c.reason)
		}
	}
	stdout := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(stdout) != 20 {
		t.Fatalf("%d result lines:\n%s", len(stdout), r.stdout)
	}
	for i, p := range good {
		if !strings.HasPrefix(stdout[i], p+" -> ") { // in the order given
			t.Errorf("result line %d is %q", i, stdout[i])
		}
		name := fmt.Sprintf("call-%02d", i)
		checkPresses(t, name, readTranscript(t, filepath.Join(out, name+".json")), batchPresses(i))
	}
	if n := serverCount(t, addr); n != 20 {
		t.Errorf("server ran %d inferences for 20 one-chunk files", n)
	}
}

// The same command twice: the second answers from the history at once,
// sends nothing, and leaves the identical outputs as they are. Changing an
// output needs --overwrite; --force sends everything again.
func TestRerunReusesTheStoredResult(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	src := filepath.Join(dir, "a.wav")
	writeDTMF(t, src, truthPresses, 16000, 66)
	out := filepath.Join(dir, "out")
	cmd := []string{"transcribe", "--server", addr, "--model", "dtmf", "--out", out, "--format", "json,srt,txt", "--cache-dir", filepath.Join(dir, "c"), src}
	if r := runCLI(t, cmd...); r.code != 0 {
		t.Fatalf("first: exit %d %s", r.code, r.stderr)
	}
	first, _ := os.ReadFile(filepath.Join(out, "a.json"))
	if n := serverCount(t, addr); n != 3 {
		t.Fatalf("first run sent %d chunks", n)
	}
	start := time.Now()
	if r := runCLI(t, cmd...); r.code != 0 || !strings.Contains(r.stdout, "a.json") {
		t.Fatalf("second: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if n := serverCount(t, addr); n != 3 {
		t.Errorf("second run sent %d more chunks", n-3)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the stored result took %v", d)
	}
	if again, _ := os.ReadFile(filepath.Join(out, "a.json")); !bytes.Equal(first, again) {
		t.Error("the output changed")
	}

	os.WriteFile(filepath.Join(out, "a.txt"), []byte("edited by hand\n"), 0o644)
	r := runCLI(t, cmd...)
	if r.code != 1 || !strings.Contains(r.stderr, "a.txt already exists") || !strings.Contains(r.stderr, "--overwrite") {
		t.Fatalf("edited output: exit %d %q", r.code, r.stderr)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "a.txt")); string(data) != "edited by hand\n" {
		t.Fatal("the edited file was replaced")
	}
	if r := runCLI(t, append(cmd, "--overwrite", "--force")...); r.code != 0 {
		t.Fatalf("--overwrite --force: exit %d %s", r.code, r.stderr)
	}
	if data, _ := os.ReadFile(filepath.Join(out, "a.txt")); string(data) == "edited by hand\n" {
		t.Error("--overwrite left the file")
	}
	if n := serverCount(t, addr); n != 6 {
		t.Errorf("--force sent %d chunks, want 3 more", n-3)
	}
}

func TestSameNameTwiceGetsDistinctOutputs(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a", "talk.wav"), filepath.Join(dir, "b", "talk.wav")
	os.MkdirAll(filepath.Dir(a), 0o755)
	os.MkdirAll(filepath.Dir(b), 0o755)
	writeDTMF(t, a, batchPresses(1), 16000, 6)
	writeDTMF(t, b, batchPresses(2), 16000, 6)
	out := filepath.Join(dir, "out")
	r := runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--out", out, "--format", "json", a, b)
	if r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	checkPresses(t, "talk", readTranscript(t, filepath.Join(out, "talk.json")), batchPresses(1))
	checkPresses(t, "talk (2)", readTranscript(t, filepath.Join(out, "talk (2).json")), batchPresses(2))
}

// paramsModel is the dtmf model remembering the parameters of the last
// request.
type paramsModel struct {
	tritontest.Model
	mu   *sync.Mutex
	last *map[string]*pb.InferParameter
}

func (m paramsModel) Execute(ctx context.Context, in []tritontest.Tensor, params map[string]*pb.InferParameter) ([]tritontest.Tensor, error) {
	m.mu.Lock()
	*m.last = params
	m.mu.Unlock()
	return m.Model.Execute(ctx, in, params)
}

func TestModelOptionsAreSentAsParameters(t *testing.T) {
	m := paramsModel{Model: tritontest.DTMF(), mu: new(sync.Mutex), last: new(map[string]*pb.InferParameter)}
	addr := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{m}})
	dir := t.TempDir()
	src := filepath.Join(dir, "a.wav")
	writeDTMF(t, src, batchPresses(0), 16000, 6)
	r := runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--out", dir, "--format", "txt",
		"--source-lang", "de", "--target-lang", "en", "--task", "translate", "--pnc=false", "--timestamps=false", src)
	if r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	got := *m.last
	want := map[string]string{
		models.ParamTimestamps: "bool_param:false", models.ParamSourceLang: `string_param:"de"`,
		models.ParamTargetLang: `string_param:"en"`, models.ParamTask: `string_param:"ast"`, models.ParamPNC: "bool_param:false",
	}
	for k, v := range want {
		if p, ok := got[k]; !ok || strings.Join(strings.Fields(p.String()), "") != strings.ReplaceAll(v, " ", "") {
			t.Errorf("parameter %s = %v, want %s", k, p, v)
		}
	}
	// Without the flags only timestamps is sent.
	r = runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--out", t.TempDir(), "--format", "txt", src)
	if r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	if got := *m.last; len(got) != 1 || !got[models.ParamTimestamps].GetBoolParam() {
		t.Errorf("default parameters %v", got)
	}
	if r := runCLI(t, "transcribe", "--task", "summarise", src); r.code != 2 {
		t.Errorf("bad --task: exit %d", r.code)
	}
}

func TestHistoryListSearchExport(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	src := filepath.Join(dir, "meeting notes.wav")
	writeDTMF(t, src, truthPresses, 16000, 66)
	out := filepath.Join(dir, "out")
	if r := runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--out", out, "--format", "json,srt", src); r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	r := runCLI(t, "history", "list", "--json")
	var entries []store.Entry
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &entries) != nil || len(entries) != 1 {
		t.Fatalf("list: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	e := entries[0]
	if e.Name != "meeting notes.wav" || e.Model != "dtmf" || math.Abs(e.Duration-66) > 0.01 || !strings.HasPrefix(e.Preview, "1 5 9") {
		t.Errorf("entry %+v", e)
	}
	if r := runCLI(t, "history", "list"); r.code != 0 || !strings.Contains(r.stdout, "meeting notes.wav") || !strings.Contains(r.stdout, "1:06") {
		t.Errorf("list: %q", r.stdout)
	}

	r = runCLI(t, "history", "search", "--json", "meeting")
	var hits []store.Hit
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &hits) != nil || len(hits) != 1 || hits[0].ID != e.ID {
		t.Fatalf("search: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, "history", "search", "A", "D"); r.code != 0 || !strings.Contains(r.stdout, "[A]") {
		t.Errorf("search: %q %q", r.stdout, r.stderr)
	}
	if r := runCLI(t, "history", "search", "nothing-like-this"); r.code != 0 || r.stdout != "" {
		t.Errorf("empty search: %q", r.stdout)
	}

	id := fmt.Sprint(e.ID)
	again := filepath.Join(dir, "again")
	if r := runCLI(t, "history", "export", "--format", "srt,md", "--out", again, id); r.code != 0 {
		t.Fatalf("export: exit %d %s", r.code, r.stderr)
	}
	orig, _ := os.ReadFile(filepath.Join(out, "meeting notes.srt"))
	if exported, _ := os.ReadFile(filepath.Join(again, "meeting notes.srt")); !bytes.Equal(orig, exported) || len(orig) == 0 {
		t.Errorf("exported SRT differs from the original")
	}
	if md, _ := os.ReadFile(filepath.Join(again, "meeting notes.md")); !strings.HasPrefix(string(md), "# meeting notes.wav\n") {
		t.Errorf("markdown: %q", md)
	}
	if r := runCLI(t, "history", "export", "--format", "txt", "--out", "-", id); r.code != 0 || !strings.HasPrefix(r.stdout, "1\n5\n9\n") {
		t.Errorf("export to stdout: %q %q", r.stdout, r.stderr)
	}
	if r := runCLI(t, "history", "export", "--out", again, "999"); r.code != 1 || !strings.Contains(r.stderr, "no history entry 999") {
		t.Errorf("unknown id: exit %d %q", r.code, r.stderr)
	}
	if r := runCLI(t, "history", "list", "--data-dir", filepath.Join(dir, "nowhere")); r.code != 1 || !strings.Contains(r.stderr, "no history") {
		t.Errorf("missing database: exit %d %q", r.code, r.stderr)
	}
	for _, args := range [][]string{{"history"}, {"history", "frob"}, {"history", "search"}, {"history", "export"}, {"history", "export", "x"}} {
		if r := runCLI(t, args...); r.code != 2 {
			t.Errorf("%q: exit %d, want 2", args, r.code)
		}
	}
}

// cliProcess runs the CLI as a real process: this test binary in CLI mode.
func cliProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), cliEnv+"=1")
	return cmd
}

// Kill -9 in the middle of a long file, then the same command: the outputs
// equal an uninterrupted run's and the server gets only the chunks that
// were not finished.
func TestKillNineThenRerunSendsOnlyTheRest(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "long.wav")
	writeDTMF(t, src, truthPresses, 16000, 66)
	common := []string{"--model", "dtmf", "--format", "json,srt,vtt,txt", "--chunk-seconds", "4", "--concurrency", "2",
		"--cache-dir", filepath.Join(dir, "cache")}

	// The reference: an uninterrupted run on its own server and database.
	refAddr := tritontest.Start(t, tritontest.Options{})
	refOut := filepath.Join(dir, "ref")
	if r := runCLI(t, append([]string{"transcribe", "--server", refAddr, "--out", refOut, "--data-dir", filepath.Join(dir, "ref-data"), src}, common...)...); r.code != 0 {
		t.Fatalf("reference run: exit %d %s", r.code, r.stderr)
	}
	chunks := serverCount(t, refAddr) // non-silent chunks of the file

	addr := tritontest.Start(t, tritontest.Options{Latency: 150 * time.Millisecond})
	data, out := filepath.Join(dir, "data"), filepath.Join(dir, "out")
	args := append([]string{"transcribe", "--server", addr, "--out", out, "--data-dir", data, src}, common...)
	cmd := cliProcess(t, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once a few chunks are in the database.
	stored := 0
	deadline := time.Now().Add(30 * time.Second)
	for stored < 4 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no progress; stderr: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
		stored = countStoredChunks(t, data)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no clean-up at all
		t.Fatal(err)
	}
	cmd.Wait()
	stored = countStoredChunks(t, data)
	sentBefore := serverCount(t, addr)
	if stored >= int(chunks) {
		t.Fatalf("the run finished (%d of %d chunks) before it was killed", stored, chunks)
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Fatalf("a killed run left outputs: %v", entries)
	}

	again := cliProcess(t, args...)
	if b, err := again.CombinedOutput(); err != nil {
		t.Fatalf("rerun: %v\n%s", err, b)
	}
	if sent := serverCount(t, addr) - sentBefore; sent != chunks-uint64(stored) {
		t.Errorf("the rerun sent %d chunks; %d of %d were finished before the kill, so want %d", sent, stored, chunks, chunks-uint64(stored))
	}
	for _, ext := range []string{"json", "srt", "vtt", "txt"} {
		want, _ := os.ReadFile(filepath.Join(refOut, "long."+ext))
		got, err := os.ReadFile(filepath.Join(out, "long."+ext))
		if err != nil || !bytes.Equal(got, want) || len(want) == 0 {
			t.Errorf("long.%s differs from the uninterrupted run's (%v):\n%s\nwant:\n%s", ext, err, got, want)
		}
	}
}

// countStoredChunks reads the database as another process would.
func countStoredChunks(t *testing.T, dataDir string) int {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dataDir, store.FileName)); err != nil {
		return 0
	}
	db, err := store.Open(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := db.CountAllChunks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Ctrl-C cancels: each unfinished file gets its "cancelled" line, finished
// chunks stay in the database, exit 1.
func TestInterruptCancelsAndKeepsFinishedChunks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT to send on Windows")
	}
	addr := tritontest.Start(t, tritontest.Options{Latency: 150 * time.Millisecond})
	dir := t.TempDir()
	src := filepath.Join(dir, "long.wav")
	writeDTMF(t, src, truthPresses, 16000, 66)
	data := filepath.Join(dir, "data")
	cmd := cliProcess(t, "transcribe", "--server", addr, "--model", "dtmf", "--out", filepath.Join(dir, "out"), "--data-dir", data,
		"--chunk-seconds", "4", "--concurrency", "1", src)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); countStoredChunks(t, data) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no progress: %s", stderr.String())
		}
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v; stderr %q", err, stderr.String())
	}
	if got := strings.TrimSpace(stderr.String()); got != "nemo-transcribe: "+src+": cancelled" {
		t.Errorf("stderr %q", got)
	}
	if n := countStoredChunks(t, data); n < 2 {
		t.Errorf("%d chunks kept", n)
	}
}
