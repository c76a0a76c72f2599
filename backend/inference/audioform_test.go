package inference

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/dtmf"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest/voices"
)

func TestToPCM16(t *testing.T) {
	// Every 16-bit sample comes back from its float32 s/32768.
	for s := math.MinInt16; s <= math.MaxInt16; s++ {
		if got := ToPCM16([]float32{float32(s) / 32768})[0]; int(got) != s {
			t.Fatalf("ToPCM16(%d/32768) = %d", s, got)
		}
	}
	nan := float32(math.NaN())
	in := []float32{1, -1, 2, -2, nan, float32(math.Inf(1)), float32(math.Inf(-1)), 0.5 / 32768, -0.5 / 32768, 0.49 / 32768, 1.5 / 32768}
	want := []int16{32767, -32768, 32767, -32768, 0, 32767, -32768, 1, -1, 0, 2}
	if got := ToPCM16(in); !slices.Equal(got, want) {
		t.Errorf("ToPCM16(%v) = %v, want %v", in, got, want)
	}
	if b := PCM16Bytes([]float32{-1, 0.5}); !slices.Equal(b, []byte{0x00, 0x80, 0x00, 0x40}) {
		t.Errorf("PCM16Bytes = % x", b)
	}
	// The definition itself (x·32768 rounded half away from zero, then
	// clamped), on every half and its neighbours and on random floats
	// beyond full scale.
	ref := func(x float32) int16 {
		v := math.Round(float64(x) * 32768)
		if v != v {
			return 0
		}
		return int16(max(math.MinInt16, min(math.MaxInt16, v)))
	}
	var xs []float32
	for s := -32770; s <= 32770; s++ {
		h := float32((float64(s) + 0.5) / 32768)
		xs = append(xs, h, math.Nextafter32(h, 2), math.Nextafter32(h, -2))
	}
	rng := rand.New(rand.NewPCG(16, 16))
	for range 200000 {
		xs = append(xs, float32(rng.Float64()*2.2-1.1))
	}
	got := ToPCM16(xs)
	for i, x := range xs {
		if want := ref(x); got[i] != want {
			t.Fatalf("ToPCM16(%g) = %d, want %d", x, got[i], want)
		}
	}
}

// TestPCM16Vector checks the eight-at-a-time conversion against pcm16,
// sample by sample: on the halves and their neighbours, on floats of
// every bit pattern (NaNs, infinities, subnormals, values past 2^31),
// and on every length around the groups of eight.
func TestPCM16Vector(t *testing.T) {
	if !useAVX2 {
		t.Skip("no vector conversion on this CPU")
	}
	var xs []float32
	for s := -32770; s <= 32770; s++ {
		h := float32((float64(s) + 0.5) / 32768)
		xs = append(xs, h, math.Nextafter32(h, 2), math.Nextafter32(h, -2), float32(s)/32768)
	}
	rng := rand.New(rand.NewPCG(8, 16))
	for range 1 << 20 {
		xs = append(xs, math.Float32frombits(rng.Uint32()))
	}
	nan := float32(math.NaN())
	xs = append(xs, 0, float32(math.Copysign(0, -1)), nan, -nan, float32(math.Inf(1)), float32(math.Inf(-1)),
		math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, math.MaxFloat32, -math.MaxFloat32, 0x1p31/32768, -0x1p31/32768)
	check := func(in []float32) {
		t.Helper()
		got, b := ToPCM16(in), PCM16Bytes(in)
		for i, x := range in {
			want := pcm16(x)
			if got[i] != want || int16(binary.LittleEndian.Uint16(b[2*i:])) != want {
				t.Fatalf("sample %d of %d: %g (%#08x) gives %d and %d, want %d", i, len(in), x, math.Float32bits(x), got[i], int16(binary.LittleEndian.Uint16(b[2*i:])), want)
			}
		}
	}
	check(xs)
	for n := range 40 { // every tail length, from an odd start too
		check(xs[:n])
		check(xs[3 : 3+n])
	}
}

// input is a config input and its metadata as Triton derives it.
func meta(cfg *pb.ModelConfig) []triton.TensorMetadata {
	var out []triton.TensorMetadata
	for _, in := range cfg.GetInput() {
		shape := in.GetDims()
		if cfg.GetMaxBatchSize() > 0 {
			shape = append([]int64{-1}, shape...)
		}
		out = append(out, triton.TensorMetadata{Name: in.GetName(), Datatype: tritontest.DatatypeName(in.GetDataType()), Shape: shape})
	}
	return out
}

func audioIn(name string, dt pb.DataType, optional bool, dims ...int64) *pb.ModelInput {
	return &pb.ModelInput{Name: name, DataType: dt, Dims: dims, Optional: optional}
}

func TestChooseAudioInput(t *testing.T) {
	fp32 := audioIn(models.InputAudio, pb.DataType_TYPE_FP32, true, -1)
	pcm := audioIn(models.InputAudioPCM16, pb.DataType_TYPE_INT16, true, -1)
	flac := audioIn(models.InputAudioFLAC, pb.DataType_TYPE_STRING, true, 1)
	for _, tc := range []struct {
		name   string
		inputs []*pb.ModelInput
		batch  int32
		want   string // "" = any
		form   string
		warn   string
	}{
		{"all three", []*pb.ModelInput{fp32, pcm, flac}, 8, "", models.InputAudioFLAC, ""},
		{"all three, not batched", []*pb.ModelInput{fp32, pcm, flac}, 0, "", models.InputAudioFLAC, ""},
		{"FP32 only", []*pb.ModelInput{audioIn(models.InputAudio, pb.DataType_TYPE_FP32, false, -1)}, 8, "", models.InputAudio, ""},
		{"PCM16 only", []*pb.ModelInput{fp32, pcm}, 8, "", models.InputAudioPCM16, ""},
		{"FLAC as UINT8", []*pb.ModelInput{fp32, pcm, audioIn(models.InputAudioFLAC, pb.DataType_TYPE_UINT8, true, -1)}, 8, "",
			models.InputAudioPCM16, `declares AUDIO_FLAC as UINT8 [-1 -1], not the contract's BYTES [-1 1]: ignored, chunks go as AUDIO_PCM16`},
		{"PCM16 as FP16", []*pb.ModelInput{fp32, audioIn(models.InputAudioPCM16, pb.DataType_TYPE_FP16, true, -1)}, 8, "",
			models.InputAudio, `declares AUDIO_PCM16 as FP16 [-1 -1], not the contract's INT16 [-1 -1]: ignored, chunks go as AUDIO`},
		{"PCM16 two-dimensional", []*pb.ModelInput{fp32, audioIn(models.InputAudioPCM16, pb.DataType_TYPE_INT16, true, -1, 2)}, 8, "",
			models.InputAudio, `declares AUDIO_PCM16 as INT16 [-1 -1 2]`},
		{"AUDIO required", []*pb.ModelInput{audioIn(models.InputAudio, pb.DataType_TYPE_FP32, false, -1), pcm, flac}, 8, "",
			models.InputAudio, `declares AUDIO_FLAC but requires AUDIO in every request`},
		{"want PCM16", []*pb.ModelInput{fp32, pcm, flac}, 8, models.InputAudioPCM16, models.InputAudioPCM16, ""},
		{"want FP32", []*pb.ModelInput{fp32, pcm, flac}, 8, models.InputAudio, models.InputAudio, ""},
		{"want FLAC, not declared", []*pb.ModelInput{fp32, pcm}, 8, models.InputAudioFLAC, models.InputAudio, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &pb.ModelConfig{Name: "m", MaxBatchSize: tc.batch, Input: tc.inputs}
			form, texts := chooseAudioInput(meta(cfg), cfg, tc.want)
			warnings := english(texts)
			if form != tc.form {
				t.Errorf("form %s, want %s", form, tc.form)
			}
			if tc.warn == "" && len(warnings) > 0 || tc.warn != "" && !slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, tc.warn) }) {
				t.Errorf("warnings %q, want one containing %q", warnings, tc.warn)
			}
			for _, w := range texts {
				// The UI shows each warning in its language: keyed, with
				// the model's name and the forms as parameters.
				if w.Key == "" || len(w.Params) == 0 {
					t.Errorf("warning %q has no catalog key or parameters: %+v", w.Text, w)
				}
			}
		})
	}
}

// formsSeen records the audio input of every request a test server gets
// and the bytes it carried.
type formsSeen struct {
	mu       sync.Mutex
	forms    []string
	raw      int64 // raw_input_contents bytes
	message  int64 // whole ModelInferRequest messages as serialised
	requests int
}

func (f *formsSeen) inspect(_ context.Context, req *pb.ModelInferRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, in := range req.GetInputs() {
		f.forms = append(f.forms, in.GetName())
	}
	for _, r := range req.GetRawInputContents() {
		f.raw += int64(len(r))
	}
	f.message += int64(proto.Size(req))
	f.requests++
}

func (f *formsSeen) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.forms, f.raw, f.message, f.requests = nil, 0, 0, 0
}

// TestRecognizeSendsTheMostCompactForm: FLAC to a model that declares it,
// FP32 to a plain one, PCM16 when FLAC is declared wrongly (with the
// warning logged and in the status), and `status --json` says which.
func TestRecognizeSendsTheMostCompactForm(t *testing.T) {
	var seen formsSeen
	badFLAC := tritontest.DTMFWith(tritontest.DTMFOptions{Name: "badflac", Inputs: []*pb.ModelInput{
		audioIn(models.InputAudio, pb.DataType_TYPE_FP32, true, -1),
		audioIn(models.InputAudioPCM16, pb.DataType_TYPE_INT16, true, -1),
		audioIn(models.InputAudioFLAC, pb.DataType_TYPE_UINT8, true, -1),
	}})
	addr := tritontest.Start(t, tritontest.Options{Inspect: seen.inspect, Models: []tritontest.Model{
		tritontest.DTMF(),
		tritontest.DTMFWith(tritontest.DTMFOptions{Name: "plain", FP32Only: true}),
		badFLAC,
	}})
	var logged []string
	var logMu sync.Mutex
	s := connectConfig(t, Config{Addresses: []string{addr}, OnWarning: func(msg string) {
		logMu.Lock()
		logged = append(logged, msg)
		logMu.Unlock()
	}})
	truth := []dtmf.Press{{Key: '7', Start: 0.2, End: 0.35}, {Key: '#', Start: 0.6, End: 0.7}}
	clip := quantize(dtmf.Synthesize(truth, models.SampleRate, 1.5, dtmf.SynthOptions{NoiseDB: -35, Seed: 9}))
	for _, tc := range []struct{ model, form string }{
		{"dtmf", models.InputAudioFLAC},
		{"plain", models.InputAudio},
		{"badflac", models.InputAudioPCM16},
	} {
		m := open(t, s, tc.model)
		if m.AudioInput != tc.form {
			t.Errorf("%s: AudioInput %s, want %s", tc.model, m.AudioInput, tc.form)
		}
		seen.reset()
		r, err := m.Recognize(testCtx(t), 1, clip, Options{Timestamps: true})
		if err != nil {
			t.Fatalf("%s: %v", tc.model, err)
		}
		if r.Text != "7 #" {
			t.Errorf("%s: heard %q", tc.model, r.Text)
		}
		if !slices.Equal(seen.forms, []string{tc.form}) {
			t.Errorf("%s: requests carried %v, want [%s]", tc.model, seen.forms, tc.form)
		}
	}
	if len(logged) != 1 || !strings.Contains(logged[0], `model "badflac" declares AUDIO_FLAC as UINT8`) {
		t.Errorf("warnings logged: %q", logged)
	}

	st, err := s.Status(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Models []struct {
			Name       string   `json:"name"`
			AudioInput string   `json:"audio_input"`
			Warnings   []string `json:"warnings"`
		} `json:"models"`
	}
	if err := json.Unmarshal(doc, &back); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range back.Models {
		got[m.Name] = m.AudioInput
		if m.Name == "badflac" && (len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], "AUDIO_FLAC as UINT8")) {
			t.Errorf("badflac status warnings %q", m.Warnings)
		}
		if m.Name != "badflac" && len(m.Warnings) > 0 {
			t.Errorf("%s status warnings %q", m.Name, m.Warnings)
		}
	}
	want := map[string]string{"dtmf": "AUDIO_FLAC", "plain": "AUDIO", "badflac": "AUDIO_PCM16"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("status audio_input %v, want %v", got, want)
	}
}

// TestReplicasGetWhatEveryOneTakes: with one replica hosting a plain
// FP32 dtmf, the client sends FP32 to both.
func TestReplicasGetWhatEveryOneTakes(t *testing.T) {
	var seen formsSeen
	a := tritontest.Start(t, tritontest.Options{Inspect: seen.inspect})
	b := tritontest.Start(t, tritontest.Options{Inspect: seen.inspect, Models: []tritontest.Model{tritontest.DTMFWith(tritontest.DTMFOptions{FP32Only: true})}})
	s := connectConfig(t, Config{Addresses: []string{a, b}})
	m := open(t, s, "dtmf")
	if m.AudioInput != models.InputAudio {
		t.Fatalf("AudioInput %s with a replica that takes only FP32", m.AudioInput)
	}
	for i := range 4 {
		if _, err := m.Recognize(testCtx(t), i, make([]float32, 1600), Options{}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.Status(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Models[0].AudioInput != models.InputAudio || st.Replicas[0].Models[0].AudioInput != models.InputAudioFLAC {
		t.Errorf("status audio_input %q, replicas %q and %q", st.Models[0].AudioInput, st.Replicas[0].Models[0].AudioInput, st.Replicas[1].Models[0].AudioInput)
	}
}

func TestAudioInputSetting(t *testing.T) {
	if _, err := ConnectConfig(Config{Addresses: []string{"localhost:1"}, AudioInput: "AUDIO_MP3"}); err == nil || !strings.Contains(err.Error(), `audio input "AUDIO_MP3"`) {
		t.Errorf("err %v", err)
	}
}

// quantize makes a clip a 16-bit source: every sample s/32768.
func quantize(clip []float32) []float32 {
	out := make([]float32, len(clip))
	for i, s := range ToPCM16(clip) {
		out[i] = float32(s) / 32768
	}
	return out
}

// chunks cuts samples into chunks of at most n.
func chunks(samples []float32, n int) [][]float32 {
	var out [][]float32
	for len(samples) > 0 {
		k := min(n, len(samples))
		out = append(out, samples[:k])
		samples = samples[k:]
	}
	return out
}

// speech is the LibriVox recordings of Debian's pocketsphinx-testdata
// (16 kHz mono 16-bit WAV), one after the other; nil when not installed.
func speech(tb testing.TB) []float32 {
	paths, _ := filepath.Glob("/usr/share/pocketsphinx/test/data/librivox/*.wav")
	var out []float32
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil || len(data) < 44 || string(data[:4]) != "RIFF" || binary.LittleEndian.Uint32(data[24:]) != models.SampleRate ||
			binary.LittleEndian.Uint16(data[22:]) != 1 || binary.LittleEndian.Uint16(data[34:]) != 16 {
			tb.Logf("%s: not a 16 kHz mono 16-bit WAV, left out", p)
			continue
		}
		// The data chunk: these files have the canonical 44-byte header,
		// but walk the chunks anyway.
		for q := 12; q+8 <= len(data); {
			id, size := string(data[q:q+4]), int(binary.LittleEndian.Uint32(data[q+4:]))
			if id == "data" {
				body := data[q+8 : min(q+8+size, len(data))]
				for i := 0; i+1 < len(body); i += 2 {
					out = append(out, float32(int16(binary.LittleEndian.Uint16(body[i:])))/32768)
				}
				break
			}
			q += 8 + size + size&1
		}
	}
	return out
}

// TestBytesPerHour counts the bytes the client puts in requests, from the
// requests the server receives, for each audio form, on a DTMF recording
// and on real speech, and holds them to issue 16's targets: at most
// 120 MB an hour with PCM16, 70 MB with FLAC (MB = 10^6 bytes). The DTMF
// transcripts are identical whatever the form.
func TestBytesPerHour(t *testing.T) {
	if raceEnabled {
		t.Skip("byte counts do not change under the race detector; the FLAC encoder is just slow there")
	}
	var seen formsSeen
	addr := tritontest.Start(t, tritontest.Options{Inspect: seen.inspect})
	const chunkSamples = 20 * models.SampleRate

	// Ten minutes of key presses with a voice under them and noise 40 dB
	// below the tones, as a 16-bit recording.
	presses := voices.RandomPresses(600, 0.08, 0.5, 0.1, 3, 16)
	dtmfAudio := quantize(dtmf.Synthesize(presses, models.SampleRate, 600, dtmf.SynthOptions{NoiseDB: -40, Seed: 16}))
	recordings := []struct {
		name    string
		samples []float32
	}{{"DTMF", dtmfAudio}, {"speech", speech(t)}}
	if len(recordings[1].samples) == 0 {
		t.Log("no speech: Debian's pocketsphinx-testdata is not installed (apt-get install pocketsphinx-testdata); measuring DTMF only")
		recordings = recordings[:1]
	}
	limits := map[string]float64{models.InputAudio: math.Inf(1), models.InputAudioPCM16: 120e6, models.InputAudioFLAC: 70e6}
	for _, rec := range recordings {
		hours := float64(len(rec.samples)) / models.SampleRate / 3600
		var texts map[string]string
		texts = map[string]string{}
		var line []string
		for _, form := range []string{models.InputAudio, models.InputAudioPCM16, models.InputAudioFLAC} {
			s := connectConfig(t, Config{Addresses: []string{addr}, AudioInput: form})
			m := open(t, s, "dtmf")
			if m.AudioInput != form {
				t.Fatalf("AudioInput %s, want %s", m.AudioInput, form)
			}
			seen.reset()
			var words []string
			for i, c := range chunks(rec.samples, chunkSamples) {
				r, err := m.Recognize(testCtx(t), i, c, Options{Timestamps: true})
				if err != nil {
					t.Fatal(err)
				}
				doc, _ := json.Marshal(r)
				words = append(words, string(doc))
			}
			texts[form] = strings.Join(words, "\n")
			perHour := float64(seen.message) / hours
			line = append(line, fmt.Sprintf("%s %.1f MB/h (raw %.1f MB/h)", form, perHour/1e6, float64(seen.raw)/hours/1e6))
			if perHour > limits[form] {
				t.Errorf("%s %s: %.1f MB an hour, over the target of %.0f MB", rec.name, form, perHour/1e6, limits[form]/1e6)
			}
		}
		t.Logf("%s (%.1f min, extrapolated to an hour): %s", rec.name, hours*60, strings.Join(line, ", "))
		if rec.name == "DTMF" {
			if texts[models.InputAudioPCM16] != texts[models.InputAudio] || texts[models.InputAudioFLAC] != texts[models.InputAudio] {
				t.Error("the DTMF transcripts differ between the audio forms")
			}
			if !strings.Contains(texts[models.InputAudio], `"words"`) && len(presses) > 0 {
				t.Logf("transcript: %.200s", texts[models.InputAudio])
			}
		}
	}
}

// BenchmarkRecognizeForms measures 30 s chunks of real speech (or the
// sawtooth of the other benchmarks when pocketsphinx-testdata is missing)
// sent as each audio form over loopback to a server that skips the
// compute, 4 in flight: the client's cost of each form, FLAC encoding
// included, as audio seconds per second (x real time) and bytes sent per
// chunk.
func BenchmarkRecognizeForms(b *testing.B) {
	var seen formsSeen
	addr := tritontest.Start(b, tritontest.Options{Models: skipCompute(), Inspect: seen.inspect})
	chunk := chunk30s()
	// The signal names each result: FLAC's bytes depend on it (567,515 a
	// chunk of speech against 376,030 of sawtooth), and a machine without
	// pocketsphinx-testdata must not pass one off as the other.
	signal := "sawtooth"
	if sp := quantize(speech(b)); len(sp) > 0 {
		for len(sp) < len(chunk) {
			sp = append(sp, sp...)
		}
		chunk, signal = sp[:len(chunk)], "speech"
	}
	for _, form := range []string{models.InputAudio, models.InputAudioPCM16, models.InputAudioFLAC} {
		b.Run(signal+"/"+form, func(b *testing.B) {
			s, err := ConnectConfig(Config{Addresses: []string{addr}, AudioInput: form})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			m, err := s.OpenModel(ctx, "dtmf", WaitOptions{})
			if err != nil {
				b.Fatal(err)
			}
			seen.reset()
			b.ResetTimer()
			if _, err := run(ctx, m, chunk, b.N, 4); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(30*float64(b.N)/b.Elapsed().Seconds(), "x_realtime")
			seen.mu.Lock()
			b.ReportMetric(float64(seen.message)/float64(max(seen.requests, 1)), "B/chunk")
			seen.mu.Unlock()
		})
	}
}

// BenchmarkToPCM16 converts one 30 s chunk, with the vector path (where
// the CPU has it) and with the scalar loop, its anchor.
func BenchmarkToPCM16(b *testing.B) {
	x := make([]float32, 30*models.SampleRate)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range x {
		x[i] = float32(rng.Float64()*2 - 1)
	}
	for _, vector := range []bool{false, true} {
		name := "scalar"
		if vector {
			name = "vector"
		}
		b.Run(name, func(b *testing.B) {
			if vector && !useAVX2 {
				b.Skip("no vector conversion on this CPU")
			}
			defer func(v bool) { useAVX2 = v }(useAVX2)
			useAVX2 = vector
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				ToPCM16(x)
			}
		})
	}
}
