package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
)

// outputOf is the transcript a one-file run wrote, read from its stdout line.
func outputOf(t *testing.T, r cliResult) string {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	_, outs, ok := strings.Cut(strings.TrimSpace(r.stdout), " -> ")
	if !ok {
		t.Fatalf("no result line: %q", r.stdout)
	}
	outs, _, _ = strings.Cut(outs, " (warning: ")
	return readTranscript(t, strings.Split(outs, ", ")[0]).Text
}

// TLS and mTLS end to end: the CLI trusts the test CA, presents its client
// certificate where the server asks for one, and refuses a server it was
// not told to trust.
func TestTLSThroughTheCLI(t *testing.T) {
	dir := t.TempDir()
	certs, err := tritontest.WriteCerts(dir)
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, "a.wav")
	writeDTMF(t, src, truthPresses[:2], 16000, 4)

	tlsCfg, err := tritontest.LoadServerTLS(certs.ServerCert, certs.ServerKey, "")
	if err != nil {
		t.Fatal(err)
	}
	addr := tritontest.Start(t, tritontest.Options{TLS: tlsCfg})
	r := runCLI(t, "transcribe", "--server", addr, "--tls-ca", certs.CA, "--model", "dtmf", "--out", dir, "--format", "json", src)
	if got := outputOf(t, r); got != "1 5" {
		t.Errorf("over TLS: %q", got)
	}
	st := runCLI(t, "status", "--server", addr, "--tls-ca", certs.CA, "--json")
	if st.code != 0 || !strings.Contains(st.stdout, `"inference_count": 1`) {
		t.Errorf("status over TLS: exit %d\n%s%s", st.code, st.stdout, st.stderr)
	}
	if r := runCLI(t, "status", "--server", addr, "--tls-ca", certs.OtherCA); r.code != 1 || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("untrusted server: exit %d, stderr %q", r.code, r.stderr)
	}

	mtls, err := tritontest.LoadServerTLS(certs.ServerCert, certs.ServerKey, certs.CA)
	if err != nil {
		t.Fatal(err)
	}
	maddr := tritontest.Start(t, tritontest.Options{TLS: mtls})
	r = runCLI(t, "transcribe", "--server", maddr, "--tls-ca", certs.CA, "--tls-cert", certs.ClientCert, "--tls-key", certs.ClientKey,
		"--model", "dtmf", "--out", t.TempDir(), "--format", "json", "--force", src)
	if got := outputOf(t, r); got != "1 5" {
		t.Errorf("over mTLS: %q", got)
	}
	if r := runCLI(t, "status", "--server", maddr, "--tls-ca", certs.CA); r.code != 1 {
		t.Errorf("mTLS server without a client certificate: exit %d, stderr %q", r.code, r.stderr)
	}
}

// --server a,b spreads one file's chunks over both replicas.
func TestTwoServersShareTheWork(t *testing.T) {
	var na, nb atomic.Int32
	a := tritontest.Start(t, tritontest.Options{Inspect: func(context.Context, *pb.ModelInferRequest) { na.Add(1) }})
	b := tritontest.Start(t, tritontest.Options{Inspect: func(context.Context, *pb.ModelInferRequest) { nb.Add(1) }})
	dir := t.TempDir()
	src := filepath.Join(dir, "long.wav")
	writeDTMF(t, src, truthPresses, 16000, 66)
	r := runCLI(t, "transcribe", "--server", a+","+b, "--model", "dtmf", "--chunk-seconds", "10", "--out", dir, "--format", "json", src)
	if got, want := outputOf(t, r), dtmf.Text(truthPresses); got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if na.Load() == 0 || nb.Load() == 0 || na.Load()+nb.Load() < 7 {
		t.Errorf("requests: %d to the first server, %d to the second", na.Load(), nb.Load())
	}
}

// inFlight is the dtmf model taking its time and recording the most
// requests it ran at once.
type inFlight struct {
	tritontest.Model
	now, peak *atomic.Int32
}

func (m inFlight) Execute(ctx context.Context, in []tritontest.Tensor, params map[string]*pb.InferParameter) ([]tritontest.Tensor, error) {
	n := m.now.Add(1)
	defer m.now.Add(-1)
	for p := m.peak.Load(); n > p && !m.peak.CompareAndSwap(p, n); p = m.peak.Load() {
	}
	time.Sleep(60 * time.Millisecond)
	return m.Model.Execute(ctx, in, params)
}

func TestConcurrencyFlagIsTheMostInFlight(t *testing.T) {
	m := inFlight{tritontest.DTMF(), new(atomic.Int32), new(atomic.Int32)}
	addr := tritontest.Start(t, tritontest.Options{Models: []tritontest.Model{m}})
	dir := t.TempDir()
	var files []string
	for i := range 3 {
		f := filepath.Join(dir, string(rune('a'+i))+".wav")
		writeDTMF(t, f, batchPresses(i), 16000, 30)
		files = append(files, f)
	}
	args := append([]string{"transcribe", "--server", addr, "--model", "dtmf", "--concurrency", "2", "--chunk-seconds", "5",
		"--out", dir, "--format", "json"}, files...)
	if r := runCLI(t, args...); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if p := m.peak.Load(); p != 2 {
		t.Errorf("at most %d requests in flight, want exactly 2", p)
	}
}

// writeStereo writes a 16 kHz stereo WAV with other keys on each channel.
func writeStereo(t *testing.T, path string, left, right []dtmf.Press, seconds float64) {
	t.Helper()
	l := dtmf.Synthesize(left, 16000, seconds, dtmf.SynthOptions{NoiseDB: -40, Seed: 1})
	r := dtmf.Synthesize(right, 16000, seconds, dtmf.SynthOptions{NoiseDB: -40, Seed: 2})
	inter := make([]float32, 0, 2*len(l))
	for i := range l {
		inter = append(inter, l[i], r[i])
	}
	var buf bytes.Buffer
	if err := audio.WriteWAV(&buf, inter, 16000, 2, audio.PCM16); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestChannelFlagPicksOneSide(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	src := filepath.Join(dir, "interview.wav")
	left := []dtmf.Press{{Key: '1', Start: 0.5, End: 0.7}, {Key: '2', Start: 2.5, End: 2.7}}
	right := []dtmf.Press{{Key: '8', Start: 1.5, End: 1.7}, {Key: '9', Start: 3.5, End: 3.7}}
	writeStereo(t, src, left, right, 4.5)
	for _, c := range []struct{ channel, want string }{{"0", "1 2"}, {"1", "8 9"}} {
		for _, dec := range []string{"builtin", "auto"} {
			out := t.TempDir()
			r := runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--channel", c.channel, "--decoder", dec, "--out", out, "--format", "json", src)
			if got := outputOf(t, r); got != c.want {
				t.Errorf("--channel %s --decoder %s: %q, want %q", c.channel, dec, got, c.want)
			}
		}
	}
	r := runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--channel", "2", "--out", dir, src)
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); r.code != 1 || len(lines) != 1 || !strings.Contains(r.stderr, "channel 2 of a 2-channel file") {
		t.Errorf("--channel 2 of a stereo file: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestDecoderFlags(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	src := filepath.Join(dir, "a.wav")
	writeDTMF(t, src, truthPresses[:3], 44100, 13)
	missing := filepath.Join(dir, "no-such-ffmpeg")

	// The built-in decoders never look for ffmpeg.
	r := runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--decoder", "builtin", "--ffmpeg", missing, "--out", t.TempDir(), "--format", "json", src)
	if got := outputOf(t, r); got != "1 5 9" {
		t.Errorf("--decoder builtin: %q", got)
	}
	// ffmpeg required and not there: one line saying so.
	r = runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--decoder", "ffmpeg", "--ffmpeg", missing, "--out", t.TempDir(), src)
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "ffmpeg failed to decode the file: ffmpeg not found at "+missing) {
		t.Errorf("--decoder ffmpeg --ffmpeg missing: exit %d, stderr %q", r.code, r.stderr)
	}

	if ffmpeg, err := exec.LookPath("ffmpeg"); err == nil {
		flac := filepath.Join(dir, "a.flac")
		if b, err := exec.Command(ffmpeg, "-nostdin", "-v", "error", "-i", src, "-c:a", "flac", flac).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, b)
		}
		for _, dec := range []string{"builtin", "ffmpeg"} {
			r := runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--decoder", dec, "--ffmpeg", ffmpeg, "--out", t.TempDir(), "--format", "json", flac)
			if got := outputOf(t, r); got != "1 5 9" {
				t.Errorf("FLAC with --decoder %s: %q", dec, got)
			}
		}
	}
}

// A WAV file cut short is transcribed as far as it goes; the warning is on
// the result's stdout line and stderr stays empty.
func TestTruncatedFileWarnsOnStdout(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	dir := t.TempDir()
	src := filepath.Join(dir, "cut.wav")
	writeDTMF(t, src, truthPresses[:3], 16000, 20)
	data, _ := os.ReadFile(src)
	os.WriteFile(src, data[:len(data)-4*16000*2*2], 0o644) // the last 4 s of 16-bit stereo gone
	for _, dec := range []string{"builtin", "auto"} {
		r := runCLI(t, "transcribe", "--server", addr, "--model", "dtmf", "--decoder", dec, "--out", t.TempDir(), "--format", "json", src)
		if got := outputOf(t, r); got != "1 5 9" {
			t.Errorf("--decoder %s: %q", dec, got)
		}
		if r.stderr != "" || !strings.Contains(r.stdout, "(warning: ") || !strings.Contains(r.stdout, "truncated") || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("--decoder %s: stdout %q, stderr %q", dec, r.stdout, r.stderr)
		}
		t.Logf("--decoder %s: %s", dec, strings.TrimSpace(r.stdout))
	}
}

func TestNewFlagUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"transcribe", "--decoder", "gstreamer", "x.wav"},
		{"transcribe", "--channel", "-2", "x.wav"},
		{"transcribe", "--cache-max", "lots", "x.wav"},
		{"transcribe", "--cache-max", "0", "x.wav"},
		{"transcribe", "--tls-cert", "c.pem", "x.wav"},
		{"transcribe", "--server", " , ", "x.wav"},
		{"status", "--retry-attempts", "0"},
	} {
		if r := runCLI(t, args...); r.code != 2 || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and one line", args, r.code, r.stderr)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"10GB": 10 << 30, "500MB": 500 << 20, "1.5G": 3 << 29, "2048": 2048, "64KiB": 64 << 10, "1tb": 1 << 40, "none": -1,
	} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GB", "-1GB", "ten", "1e30TB"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) took it", in)
		}
	}
}
