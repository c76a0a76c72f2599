package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/voices"
)

// The test binary doubles as the devserver: started with this variable set
// it runs main with its arguments, so the tests below exercise the real
// flag parsing, signal handling and exit status in a separate process.
const beMain = "TRITON_DEVSERVER_TEST_BE_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(beMain) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

var readyLine = regexp.MustCompile(`^triton-devserver listening on (127\.0\.0\.1:(\d+)) \(models: (dtmf, voices|dtmf|voices)\)$`)

type devserver struct {
	cmd    *exec.Cmd
	addr   string
	models string // as the ready line lists them
	stderr *bytes.Buffer
	exited chan struct{} // closed when the process has exited
	err    error         // from cmd.Wait, once exited is closed
}

// startDevserver runs the devserver with args and waits for its ready line.
func startDevserver(t *testing.T, args ...string) *devserver {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("sends SIGTERM")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), beMain+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &devserver{cmd: cmd, stderr: &bytes.Buffer{}, exited: make(chan struct{}), models: ""}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- strings.TrimSuffix(line, "\n")
		_, _ = io.Copy(io.Discard, r)
		d.err = cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // no-op once it has exited
		select {
		case <-d.exited:
		case <-time.After(5 * time.Second):
		}
	})
	select {
	case line := <-lines:
		m := readyLine.FindStringSubmatch(line)
		if m == nil || m[2] == "0" {
			t.Fatalf("ready line %q does not match %v (stderr: %s)", line, readyLine, d.stderr)
		}
		d.addr, d.models = m[1], m[3]
	case <-time.After(10 * time.Second):
		t.Fatal("no ready line within 10 s")
	}
	return d
}

// stop sends sig and returns the exit status.
func (d *devserver) stop(t *testing.T, sig os.Signal) int {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	defer func() { t.Logf("exited %v after the signal", time.Since(start).Round(time.Millisecond)) }()
	select {
	case <-d.exited:
		var exit *exec.ExitError
		if errors.As(d.err, &exit) {
			return exit.ExitCode()
		}
		if d.err != nil {
			t.Fatal(d.err)
		}
		return 0
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10 s after the signal")
		return -1
	}
}

func client(t *testing.T, addr string) pb.GRPCInferenceServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32)),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pb.NewGRPCInferenceServiceClient(conn)
}

func inferRequest(presses []dtmf.Press, duration float64) *pb.ModelInferRequest {
	clip := dtmf.Synthesize(presses, models.SampleRate, duration, dtmf.SynthOptions{})
	return &pb.ModelInferRequest{
		ModelName: "dtmf",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: models.InputAudio, Datatype: models.DatatypeFP32, Shape: []int64{1, int64(len(clip))}},
		},
		RawInputContents: [][]byte{triton.EncodeFP32(clip)},
	}
}

func transcript(t *testing.T, resp *pb.ModelInferResponse) string {
	t.Helper()
	for i, o := range resp.GetOutputs() {
		if o.Name == models.OutputTranscript {
			elems, err := triton.DecodeBytes(resp.RawOutputContents[i])
			if err != nil || len(elems) != 1 {
				t.Fatalf("TRANSCRIPT %v: %v", elems, err)
			}
			return string(elems[0])
		}
	}
	t.Fatal("no TRANSCRIPT")
	return ""
}

func TestDevserverServesAndStopsOnSIGTERM(t *testing.T) {
	d := startDevserver(t, "--addr", "127.0.0.1:0")
	c := client(t, d.addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Fatalf("ServerReady = %v, %v", r, err)
	}
	resp, err := c.ModelInfer(ctx, inferRequest([]dtmf.Press{{Key: '4', Start: 0.1, End: 0.2}, {Key: '2', Start: 0.3, End: 0.4}}, 0.5))
	if err != nil {
		t.Fatal(err)
	}
	if got := transcript(t, resp); got != "4 2" {
		t.Errorf("TRANSCRIPT %q, want \"4 2\"", got)
	}
	// A stream left open must not hold up the exit past the grace period.
	if _, err := c.ModelStreamInfer(ctx); err != nil {
		t.Fatal(err)
	}
	if code := d.stop(t, syscall.SIGTERM); code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0 (stderr: %s)", code, d.stderr)
	}
}

func TestDevserverSIGINT(t *testing.T) {
	d := startDevserver(t, "--addr", "127.0.0.1:0")
	if code := d.stop(t, os.Interrupt); code != 0 {
		t.Errorf("exit status %d after SIGINT, want 0 (stderr: %s)", code, d.stderr)
	}
}

func TestDevserverFaultFlags(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := inferRequest(nil, 0.1)

	t.Run("ready-after", func(t *testing.T) {
		d := startDevserver(t, "--addr", "127.0.0.1:0", "--ready-after", "1h")
		c := client(t, d.addr)
		if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "dtmf"}); status.Code(err) != codes.NotFound {
			t.Errorf("ModelReady = %v, %v; want NOT_FOUND, as current Triton answers", r, err)
		}
		if _, err := c.ModelInfer(ctx, req); status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "has no available versions") {
			t.Errorf("ModelInfer: %v, want NOT_FOUND has no available versions", err)
		}
		idx, err := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
		if err != nil || len(idx.Models) != 2 || idx.Models[0].State != "LOADING" || idx.Models[1].State != "LOADING" {
			t.Errorf("RepositoryIndex = %v, %v; want dtmf and voices loading", idx, err)
		}
	})

	t.Run("legacy-model-ready", func(t *testing.T) {
		d := startDevserver(t, "--addr", "127.0.0.1:0", "--ready-after", "1h", "--legacy-model-ready")
		c := client(t, d.addr)
		if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: "dtmf"}); err != nil || r.Ready {
			t.Errorf("ModelReady = %v, %v; want false, as Triton up to r26.06 answers", r, err)
		}
	})

	t.Run("unloaded and on-disk", func(t *testing.T) {
		d := startDevserver(t, "--addr", "127.0.0.1:0", "--unloaded", "dtmf", "--on-disk", "common, canary-1b-v2")
		c := client(t, d.addr)
		idx, err := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
		var got []string
		for _, m := range idx.GetModels() {
			got = append(got, m.Name+"="+m.State)
		}
		if err != nil || strings.Join(got, " ") != "canary-1b-v2= common= dtmf= voices=READY" {
			t.Errorf("RepositoryIndex = %v, %v; want three names without state and voices ready", got, err)
		}
		if _, err := c.ModelInfer(ctx, req); status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "'dtmf' is not found") {
			t.Errorf("ModelInfer: %v, want NOT_FOUND is not found", err)
		}
		if _, err := c.RepositoryModelLoad(ctx, &pb.RepositoryModelLoadRequest{ModelName: "dtmf"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.ModelInfer(ctx, req); err != nil {
			t.Errorf("ModelInfer after load: %v", err)
		}
	})

	t.Run("fail-load", func(t *testing.T) {
		d := startDevserver(t, "--addr", "127.0.0.1:0", "--fail-load", "dtmf=no GPU found")
		c := client(t, d.addr)
		idx, err := c.RepositoryIndex(ctx, &pb.RepositoryIndexRequest{})
		if err != nil || len(idx.Models) != 2 || idx.Models[0].State != "UNAVAILABLE" || idx.Models[0].Reason != "no GPU found" || idx.Models[1].State != "READY" {
			t.Errorf("RepositoryIndex = %v, %v; want dtmf failed and voices ready", idx, err)
		}
	})

	t.Run("cancel-rate", func(t *testing.T) {
		d := startDevserver(t, "--addr", "127.0.0.1:0", "--cancel-rate", "1")
		c := client(t, d.addr)
		if _, err := c.ModelInfer(ctx, req); status.Code(err) != codes.Canceled {
			t.Errorf("ModelInfer: %v, want CANCELLED", err)
		}
	})

	t.Run("latency", func(t *testing.T) {
		d := startDevserver(t, "--addr", "127.0.0.1:0", "--latency", "200ms")
		c := client(t, d.addr)
		start := time.Now()
		if _, err := c.ModelInfer(ctx, req); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < 200*time.Millisecond {
			t.Errorf("answered in %v with --latency 200ms", el)
		}
	})

	t.Run("fail-rate with seed", func(t *testing.T) {
		pattern := func() string {
			d := startDevserver(t, "--addr", "127.0.0.1:0", "--fail-rate", "0.5", "--seed", "7")
			c := client(t, d.addr)
			var b strings.Builder
			for range 20 {
				_, err := c.ModelInfer(ctx, req)
				switch status.Code(err) {
				case codes.OK:
					b.WriteByte('.')
				case codes.Unavailable:
					b.WriteByte('x')
				default:
					t.Fatal(err)
				}
			}
			return b.String()
		}
		a, b := pattern(), pattern()
		if a != b || !strings.Contains(a, "x") || !strings.Contains(a, ".") {
			t.Errorf("--fail-rate 0.5 --seed 7 answered %s then %s", a, b)
		}
	})
}

// TestDevserverHostsVoices: the voices model beside dtmf by default, a
// speaker-embedding model by its config, answering spans; --models leaves
// it out.
func TestDevserverHostsVoices(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := startDevserver(t, "--addr", "127.0.0.1:0")
	if d.models != "dtmf, voices" {
		t.Errorf("models %q, want dtmf and voices", d.models)
	}
	c := client(t, d.addr)
	cfg, err := c.ModelConfig(ctx, &pb.ModelConfigRequest{Name: "voices"})
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for k, v := range cfg.GetConfig().GetParameters() {
		params[k] = v.GetStringValue()
	}
	sp, err := models.ParseSpeakerParameters(params)
	if err != nil {
		t.Fatalf("voices is not a speaker model by its config: %v", err)
	}
	presses := []voices.Press{
		{Press: dtmf.Press{Key: '1', Start: 0.1, End: 0.4}, F0: 110},
		{Press: dtmf.Press{Key: '2', Start: 0.5, End: 0.8}, F0: 150},
		{Press: dtmf.Press{Key: '3', Start: 0.9, End: 1.2}, F0: 110},
	}
	clip := voices.Synthesize(presses, models.SampleRate, 1.3, dtmf.SynthOptions{})
	var spans []byte
	for _, p := range presses {
		spans = binary.LittleEndian.AppendUint64(spans, uint64(math.Round(p.Start*models.SampleRate)))
		spans = binary.LittleEndian.AppendUint64(spans, uint64(math.Round(p.End*models.SampleRate)))
	}
	resp, err := c.ModelInfer(ctx, &pb.ModelInferRequest{
		ModelName: "voices",
		Inputs: []*pb.ModelInferRequest_InferInputTensor{
			{Name: models.InputAudio, Datatype: models.DatatypeFP32, Shape: []int64{1, int64(len(clip))}},
			{Name: models.InputSpans, Datatype: models.DatatypeINT64, Shape: []int64{1, 3, 2}},
		},
		RawInputContents: [][]byte{triton.EncodeFP32(clip), spans},
	})
	if err != nil {
		t.Fatal(err)
	}
	e, err := triton.DecodeFP32(resp.GetRawOutputContents()[0])
	if err != nil || len(e) != 3*sp.EmbeddingSize {
		t.Fatalf("EMBEDDINGS %v (%d values), %v", resp.GetOutputs(), len(e), err)
	}
	row := func(i int) []float32 { return e[i*sp.EmbeddingSize : (i+1)*sp.EmbeddingSize] }
	if same, other := voices.Cosine(row(0), row(2)), voices.Cosine(row(0), row(1)); same < 0.95 || other > 0.25 {
		t.Errorf("same voice %.3f, other voice %.3f", same, other)
	}

	only := startDevserver(t, "--addr", "127.0.0.1:0", "--models", "dtmf")
	if only.models != "dtmf" {
		t.Errorf("--models dtmf: models %q", only.models)
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--fail-rate", "1.5"},
		{"--latency", "-1s"},
		{"--nope"},
		{"extra"},
		{"--models", "whisper"},
		{"--models", "dtmf,dtmf"},
		{"--models", " , "},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
		if errOut.Len() == 0 {
			t.Errorf("%v: nothing on stderr", args)
		}
	}
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"--addr", "256.0.0.1:1"}, io.Discard, &errOut); code != 1 {
		t.Errorf("bad address: exit %d, want 1", code)
	}
}

// TestRunInProcess covers run itself, stopped by its context.
func TestRunInProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"--addr", "127.0.0.1:0"}, pw, io.Discard) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	m := readyLine.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		t.Fatalf("ready line %q", line)
	}
	if r, err := client(t, m[1]).ServerLive(context.Background(), &pb.ServerLiveRequest{}); err != nil || !r.Live {
		t.Errorf("ServerLive = %v, %v", r, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return")
	}
}

// TestDevserverFP32Only: --fp32-only hosts a dtmf that declares AUDIO
// alone, required, as a plain Triton model; by default it declares the
// compact forms too.
func TestDevserverFP32Only(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		flags []string
		want  []string
	}{
		{nil, []string{models.InputAudio, models.InputAudioPCM16, models.InputAudioFLAC}},
		{[]string{"--fp32-only"}, []string{models.InputAudio}},
	} {
		d := startDevserver(t, append([]string{"--addr", "127.0.0.1:0", "--models", "dtmf"}, tc.flags...)...)
		md, err := client(t, d.addr).ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: "dtmf"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, in := range md.GetInputs() {
			got = append(got, in.GetName())
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%v: inputs %v, want %v", tc.flags, got, tc.want)
		}
	}
}
