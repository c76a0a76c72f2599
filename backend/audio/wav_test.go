package audio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exactSignal returns interleaved samples that the format stores without
// loss, so decoding must give them back bit for bit.
func exactSignal(rng *rand.Rand, f WAVFormat, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		switch f.base() {
		case PCM8:
			x[i] = float32(rng.IntN(256)-128) / 128
		case PCM16:
			x[i] = float32(rng.IntN(1<<16)-1<<15) / (1 << 15)
		case PCM24:
			x[i] = float32(rng.IntN(1<<24)-1<<23) / (1 << 23)
		case PCM32: // 24 significant bits, so float32 holds them exactly
			x[i] = float32((rng.IntN(1<<24)-1<<23)<<8) / (1 << 31)
		default:
			x[i] = rng.Float32()*2 - 1
		}
	}
	// The extremes.
	if n >= 2 {
		x[0] = -1
		switch f.base() {
		case PCM8:
			x[1] = 127.0 / 128
		case PCM16:
			x[1] = 32767.0 / 32768
		case PCM24:
			x[1] = float32(1<<23-1) / (1 << 23)
		default: // PCM32 clamps 1.0 to 2^31-1, which reads back as 1.0
			x[1] = 1
		}
	}
	return x
}

// mixRef mixes interleaved samples to mono the way the decoder documents.
func mixRef(x []float32, channels, sel int) []float32 {
	out := make([]float32, len(x)/channels)
	for i := range out {
		fr := x[i*channels : (i+1)*channels]
		switch {
		case sel >= 0:
			out[i] = fr[sel]
		case channels == 1:
			out[i] = fr[0]
		case channels == 2:
			out[i] = (fr[0] + fr[1]) * 0.5
		default:
			var s float32
			for _, v := range fr {
				s += v
			}
			out[i] = s * (1 / float32(channels))
		}
	}
	return out
}

func TestDecodeFormats(t *testing.T) {
	formats := []struct {
		f    WAVFormat
		name string
		bits int
	}{
		{PCM8, "wav/pcm8", 8},
		{PCM16, "wav/pcm16", 16},
		{PCM24, "wav/pcm24", 24},
		{PCM32, "wav/pcm32", 32},
		{Float32, "wav/float32", 32},
		{Float64, "wav/float64", 64},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, fm := range formats {
		for _, ext := range []bool{false, true} {
			for _, rate := range []int{8000, 16000, 22050, 44100, 48000} {
				for _, channels := range []int{1, 2} {
					format := fm.f
					if ext {
						format |= Extensible
					}
					name := fmt.Sprintf("%s/ext=%v/%d/%dch", fm.name, ext, rate, channels)
					t.Run(name, func(t *testing.T) {
						frames := rate/10 + 7
						x := exactSignal(rng, format, frames*channels)
						data := wavBytes(t, x, rate, channels, format)
						for _, seekable := range []bool{true, false} {
							var r io.Reader = bytes.NewReader(data)
							if !seekable {
								r = onlyReader{r}
							}
							d, err := NewWAVDecoder(r, Options{})
							if err != nil {
								t.Fatal(err)
							}
							want := resampleSlice(t, rate, mixRef(x, channels, -1))
							info := d.Info()
							wantInfo := Info{
								Format: fm.name, Decoder: "builtin", SourceRate: rate, Channels: channels, BitsPerSample: fm.bits,
								Frames: int64(frames), Samples: int64(len(want)), Duration: float64(frames) / float64(rate),
							}
							if info != wantInfo {
								t.Fatalf("Info = %+v, want %+v", info, wantInfo)
							}
							got := readAll(t, d)
							if !equalBits(got, want) {
								t.Fatalf("samples differ from the reference (len %d vs %d)", len(got), len(want))
							}
							if d.Truncated() || d.Err() != nil || d.Warning() != nil {
								t.Fatalf("Truncated=%v Err=%v Warning=%v", d.Truncated(), d.Err(), d.Warning())
							}
							if want := int64(math.Ceil(float64(frames) * SampleRate / float64(rate))); int64(len(got)) != want {
								t.Fatalf("output length %d, want ceil(frames*16000/rate) = %d", len(got), want)
							}
						}
						if channels == 2 {
							d, err := NewWAVDecoder(bytes.NewReader(data), Options{Mix: MixChannel, Channel: 1})
							if err != nil {
								t.Fatal(err)
							}
							if got, want := readAll(t, d), resampleSlice(t, rate, mixRef(x, 2, 1)); !equalBits(got, want) {
								t.Fatal("channel 1 differs from the reference")
							}
						}
					})
				}
			}
		}
	}
}

func equalBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// A 16 kHz mono float file comes out exactly as it went in.
func TestPassthroughBitExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 48001)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	x[0], x[1], x[2], x[3] = 1, -1, 1e-40, -0 // extremes, a subnormal, negative zero
	x[3] = float32(math.Copysign(0, -1))
	for _, f := range []WAVFormat{Float32, Float32 | Extensible} {
		d, err := NewWAVDecoder(bytes.NewReader(wavBytes(t, x, 16000, 1, f)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d.rs != nil {
			t.Fatal("a 16 kHz source must not be filtered")
		}
		if got := readAll(t, d); !equalBits(got, x) {
			t.Fatalf("format %v: 16 kHz mono float32 is not bit-exact", f)
		}
	}
}

func TestFourChannelAverage(t *testing.T) {
	x := []float32{0.5, 0.25, -0.25, 1, 0, 0, 0, 0, -1, -1, -1, -1}
	d, err := NewWAVDecoder(bytes.NewReader(wavBytes(t, x, 16000, 4, Float32)), Options{Channel: -1})
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, d)
	want := []float32{0.375, 0, -1}
	if !equalBits(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// readMonoSource decodes a WAV at its own rate (no resampling).
func readMonoSource(t *testing.T, data []byte, sel int) (wavFormat, []float32) {
	t.Helper()
	cr := &countingReader{br: bufio.NewReader(bytes.NewReader(data))}
	h, err := parseWAVHeader(cr, false)
	if err != nil {
		t.Fatal(err)
	}
	src := newWAVSource(cr, h, sel)
	var out []float32
	buf := make([]float32, 1000)
	for {
		n, err := src.readMono(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return h.format, out
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Files written by sox and ffmpeg decode to the same signal.
func TestForeignFiles(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	_, refL := readMonoSource(t, read("src-f32-stereo-44k.wav"), 0)
	_, refR := readMonoSource(t, read("src-f32-stereo-44k.wav"), 1)
	if len(refL) != 4410 {
		t.Fatalf("source has %d frames, want 4410", len(refL))
	}
	tests := []struct {
		file   string
		format string
		bits   int
		tol    float64
	}{
		{"src-f32-stereo-44k.wav", "wav/float32", 32, 0},
		{"ffmpeg-s24-stereo-44k.wav", "wav/pcm24", 24, 1.0 / (1 << 23)},
		{"ffmpeg-s16-stereo-44k.wav", "wav/pcm16", 16, 1.0 / (1 << 15)},
		{"sox-u8-stereo-44k.wav", "wav/pcm8", 8, 1.0 / (1 << 7)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := read(tt.file)
			d, err := NewWAVDecoder(bytes.NewReader(data), Options{})
			if err != nil {
				t.Fatal(err)
			}
			info := d.Info()
			if info.Format != tt.format || info.BitsPerSample != tt.bits || info.SourceRate != 44100 || info.Channels != 2 || info.Frames != 4410 || info.Samples != 1600 {
				t.Fatalf("Info = %+v", info)
			}
			if n := len(readAll(t, d)); n != 1600 {
				t.Fatalf("%d output samples, want 1600", n)
			}
			for ch, ref := range [][]float32{refL, refR} {
				_, got := readMonoSource(t, data, ch)
				if len(got) != len(ref) {
					t.Fatalf("channel %d: %d frames, want %d", ch, len(got), len(ref))
				}
				for i := range got {
					if d := math.Abs(float64(got[i] - ref[i])); d > tt.tol {
						t.Fatalf("channel %d sample %d: %v, want %v ± %v", ch, i, got[i], ref[i], tt.tol)
					}
				}
			}
		})
	}
}

// Hand-built files: chunk layouts the writers above never produce.
func TestHandBuiltFixtures(t *testing.T) {
	pcm := fmtBody(tagPCM, 1, 16000, 2, 16)
	samples := le16s(100, -200, 32767, -32768, 0)
	want := []float32{100.0 / 32768, -200.0 / 32768, 32767.0 / 32768, -1, 0}
	ds64 := func(dataSize uint64) []byte {
		b := binary.LittleEndian.AppendUint64(nil, 0) // RIFF size
		b = binary.LittleEndian.AppendUint64(b, dataSize)
		b = binary.LittleEndian.AppendUint64(b, dataSize/2) // sample count
		return binary.LittleEndian.AppendUint32(b, 0)       // table length
	}
	withRIFFSize := func(b []byte, size uint32) []byte {
		binary.LittleEndian.PutUint32(b[4:8], size)
		return b
	}
	tests := []struct {
		name      string
		data      []byte
		want      []float32
		format    string
		bits      int
		frames    int64 // seekable reader
		streamFr  int64 // plain reader
		truncated bool
	}{
		{
			name:   "odd LIST and JUNK before fmt, padded",
			data:   riff("RIFF", "WAVE", chunk("JUNK", make([]byte, 28), true), chunk("LIST", []byte("INFOx"), true), chunk("fmt ", pcm, true), chunk("data", samples, true)),
			want:   want,
			format: "wav/pcm16", bits: 16, frames: 5, streamFr: 5,
		},
		{
			name:   "odd LIST without its pad byte",
			data:   riff("RIFF", "WAVE", chunk("fmt ", pcm, true), chunk("LIST", []byte("INFOabc"), false), chunk("data", samples, true)),
			want:   want,
			format: "wav/pcm16", bits: 16, frames: 5, streamFr: 5,
		},
		{
			name:   "fact and bext chunks, data followed by LIST",
			data:   riff("RIFF", "WAVE", chunk("fmt ", pcm, true), chunk("fact", []byte{5, 0, 0, 0}, true), chunk("bext", make([]byte, 603), true), chunk("data", samples, true), chunk("LIST", []byte("INFOtrailing"), true)),
			want:   want,
			format: "wav/pcm16", bits: 16, frames: 5, streamFr: 5,
		},
		{
			name:   "second fmt chunk is ignored",
			data:   riff("RIFF", "WAVE", chunk("fmt ", pcm, true), chunk("fmt ", fmtBody(tagPCM, 2, 8000, 4, 16), true), chunk("data", samples, true)),
			want:   want,
			format: "wav/pcm16", bits: 16, frames: 5, streamFr: 5,
		},
		{
			name:   "18-byte fmt chunk",
			data:   riff("RIFF", "WAVE", chunk("fmt ", append(pcm, 0, 0), true), chunk("data", samples, true)),
			want:   want,
			format: "wav/pcm16", bits: 16, frames: 5, streamFr: 5,
		},
		{
			name: "extensible 24 valid bits in 32-bit slots",
			data: riff("RIFF", "WAVE", chunk("fmt ", extFmtBody(tagPCM, 1, 16000, 4, 32, 24), true),
				chunk("data", binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, uint32(0x123456<<8)), uint32(0x80000000)), true)),
			want:   []float32{float32(0x123456) / (1 << 23), -1},
			format: "wav/pcm32", bits: 24, frames: 2, streamFr: 2,
		},
		{
			name:   "12-bit samples in 16-bit slots",
			data:   riff("RIFF", "WAVE", chunk("fmt ", fmtBody(tagPCM, 1, 16000, 2, 12), true), chunk("data", le16s(0x7FF0, -16), true)),
			want:   []float32{float32(0x7FF0) / 32768, -16.0 / 32768},
			format: "wav/pcm16", bits: 12, frames: 2, streamFr: 2,
		},
		{
			name:   "8-bit, odd data size with pad",
			data:   riff("RIFF", "WAVE", chunk("fmt ", fmtBody(tagPCM, 1, 16000, 1, 8), true), chunk("data", []byte{0, 128, 255}, true), chunk("LIST", []byte("INFO"), true)),
			want:   []float32{-1, 0, 127.0 / 128},
			format: "wav/pcm8", bits: 8, frames: 3, streamFr: 3,
		},
		{
			name:   "data size not a whole number of frames",
			data:   riff("RIFF", "WAVE", chunk("fmt ", fmtBody(tagPCM, 2, 16000, 4, 16), true), chunk("data", le16s(1000, 3000, 7), true)),
			want:   []float32{2000.0 / 32768},
			format: "wav/pcm16", bits: 16, frames: 1, streamFr: 1,
		},
		{
			name:   "RF64 with ds64",
			data:   withRIFFSize(riff("RF64", "WAVE", chunk("ds64", ds64(10), true), chunk("fmt ", pcm, true), chunkSized("data", 0xFFFFFFFF, samples, true)), 0xFFFFFFFF),
			want:   want,
			format: "wav/pcm16", bits: 16, frames: 5, streamFr: 5,
		},
		{
			name:   "streamed: data size 0xFFFFFFFF",
			data:   riff("RIFF", "WAVE", chunk("fmt ", pcm, true), chunkSized("data", 0xFFFFFFFF, samples, false)),
			want:   want,
			format: "wav/pcm16", bits: 16, frames: 5, streamFr: -1,
		},
		{
			name:   "streamed: RIFF and data sizes left at zero",
			data:   withRIFFSize(riff("RIFF", "WAVE", chunk("fmt ", pcm, true), chunkSized("data", 0, samples, false)), 0),
			want:   want,
			format: "wav/pcm16", bits: 16, frames: 5, streamFr: -1,
		},
		{
			name:   "unfinished: the RIFF size ends at the data chunk, its size 0, audio after",
			data:   withRIFFSize(riff("RIFF", "WAVE", chunk("fmt ", pcm, true), chunkSized("data", 0, samples, false)), 36),
			want:   want,
			format: "wav/pcm16", bits: 16, frames: 5, streamFr: -1,
		},
		{
			name:   "empty data chunk",
			data:   riff("RIFF", "WAVE", chunk("fmt ", pcm, true), chunk("data", nil, true)),
			want:   nil,
			format: "wav/pcm16", bits: 16, frames: 0, streamFr: 0,
		},
		{
			name:   "data chunk declares more than the file holds",
			data:   riff("RIFF", "WAVE", chunk("fmt ", pcm, true), chunkSized("data", 100, samples, false)),
			want:   want,
			format: "wav/pcm16", bits: 16, frames: 5, streamFr: 50, truncated: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, seekable := range []bool{true, false} {
				var r io.Reader = bytes.NewReader(tt.data)
				wantFrames := tt.frames
				if !seekable {
					r = onlyReader{r}
					wantFrames = tt.streamFr
				}
				d, err := NewWAVDecoder(r, Options{})
				if err != nil {
					t.Fatalf("seekable=%v: %v", seekable, err)
				}
				info := d.Info()
				if info.Format != tt.format || info.BitsPerSample != tt.bits || info.Frames != wantFrames {
					t.Fatalf("seekable=%v: Info = %+v, want format %s, %d bits, %d frames", seekable, info, tt.format, tt.bits, wantFrames)
				}
				if info.Truncated != (tt.truncated && seekable) {
					t.Fatalf("seekable=%v: Info.Truncated before reading = %v", seekable, info.Truncated)
				}
				got := readAll(t, d)
				if !equalBits(got, tt.want) {
					t.Fatalf("seekable=%v: samples %v, want %v", seekable, got, tt.want)
				}
				if d.Truncated() != tt.truncated || d.Info().Truncated != tt.truncated {
					t.Fatalf("seekable=%v: Truncated = %v, want %v", seekable, d.Truncated(), tt.truncated)
				}
				if tt.truncated && (d.Info().Frames != 5 || d.Info().Samples != 5) {
					t.Fatalf("seekable=%v: after the end, Info = %+v, want 5 frames", seekable, d.Info())
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	pcm := fmtBody(tagPCM, 1, 16000, 2, 16)
	data := chunk("data", le16s(1, 2), true)
	rng := rand.New(rand.NewPCG(5, 6))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rng.IntN(256))
	}
	random[0] = 'x'
	badGUID := extFmtBody(tagPCM, 1, 16000, 2, 16, 16)
	badGUID[len(badGUID)-1] ^= 0xFF
	tests := []struct {
		name string
		data []byte
		is   []error
		msg  string
	}{
		{"empty", nil, []error{ErrEmpty}, "file is empty"},
		{"random bytes", random, []error{ErrNotWAV}, "not a WAV file (unrecognised header)"},
		{"only RIFF", []byte("RIFF"), []error{ErrCorrupt, ErrTruncated}, "truncated header"},
		{"RIFF header cut", []byte("RIFF\x10\x00\x00\x00WAV"), []error{ErrCorrupt, ErrTruncated}, "truncated header"},
		{"no chunks", riff("RIFF", "WAVE"), []error{ErrCorrupt, ErrNoData}, "no data chunk"},
		{"fmt only", riff("RIFF", "WAVE", chunk("fmt ", pcm, true)), []error{ErrNoData}, "no data chunk"},
		{"fmt cut short", riff("RIFF", "WAVE", chunk("fmt ", pcm, true))[:30], []error{ErrCorrupt, ErrTruncated}, "fmt chunk"},
		{"chunk header cut", riff("RIFF", "WAVE", chunk("fmt ", pcm, true), []byte("da")), []error{ErrNoData, ErrTruncated}, "chunk header"},
		{"LIST larger than the file", riff("RIFF", "WAVE", chunk("fmt ", pcm, true), chunkSized("LIST", 1<<20, []byte("INFO"), true)), []error{ErrNoData, ErrTruncated}, `"LIST"`},
		{"data before fmt", riff("RIFF", "WAVE", data, chunk("fmt ", pcm, true)), []error{ErrCorrupt}, "before any fmt"},
		{"tiny fmt", riff("RIFF", "WAVE", chunk("fmt ", pcm[:10], true), data), []error{ErrCorrupt}, "fmt chunk of 10 bytes"},
		{"zero channels", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(tagPCM, 0, 16000, 2, 16), true), data), []error{ErrCorrupt}, "zero channels"},
		{"absurd channels", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(tagPCM, 5000, 16000, 10000, 16), true), data), []error{ErrCorrupt}, "5000 channels"},
		{"zero rate", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(tagPCM, 1, 0, 2, 16), true), data), []error{ErrCorrupt}, "zero sample rate"},
		{"absurd rate", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(tagPCM, 1, 0xFFFFFFFF, 2, 16), true), data), []error{ErrCorrupt}, "sample rate of 4294967295 Hz"},
		{"zero block align", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(tagPCM, 1, 16000, 0, 16), true), data), []error{ErrCorrupt}, "block align"},
		{"zero bits", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(tagPCM, 1, 16000, 2, 0), true), data), []error{ErrCorrupt}, "zero bits"},
		{"bits exceed slot", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(tagPCM, 1, 16000, 2, 24), true), data), []error{ErrCorrupt}, "24-bit samples in 2-byte slots"},
		{"MS ADPCM", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(0x0002, 1, 16000, 256, 4), true), data), []error{ErrUnsupportedFormat}, "WAV format tag 0x0002 (Microsoft ADPCM)"},
		{"IMA ADPCM", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(0x0011, 2, 44100, 2048, 4), true), data), []error{ErrUnsupportedFormat}, "0x0011 (IMA ADPCM)"},
		{"mu-law", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(0x0007, 1, 8000, 1, 8), true), data), []error{ErrUnsupportedFormat}, "µ-law"},
		{"MP3 in WAV", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(0x0055, 2, 44100, 1, 0), true), data), []error{ErrUnsupportedFormat}, "(MP3)"},
		{"unknown extensible GUID", riff("RIFF", "WAVE", chunk("fmt ", badGUID, true), data), []error{ErrUnsupportedFormat}, "sub-format {00000001-0000-0010-8000-00aa00389b8e}"},
		{"short extensible fmt", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(tagExtensible, 1, 16000, 2, 16), true), data), []error{ErrCorrupt}, "EXTENSIBLE"},
		{"16-bit float", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(tagFloat, 1, 16000, 2, 16), true), data), []error{ErrUnsupportedFormat}, "16-bit float"},
		{"64-bit PCM", riff("RIFF", "WAVE", chunk("fmt ", fmtBody(tagPCM, 1, 16000, 8, 64), true), data), []error{ErrUnsupportedFormat}, "64-bit PCM"},
		{"AVI", riff("RIFF", "AVI ", chunk("LIST", nil, true)), []error{ErrNotWAV}, "looks like AVI"},
		{"MP3 file", append([]byte("ID3\x04\x00"), random[:100]...), []error{ErrNotWAV}, "looks like MP3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewWAVDecoder(bytes.NewReader(tt.data), Options{})
			if err == nil {
				t.Fatalf("no error (Info %+v)", d.Info())
			}
			for _, want := range tt.is {
				if !errors.Is(err, want) {
					t.Errorf("error %q does not wrap %q", err, want)
				}
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

// A data chunk cut short decodes up to the cut and says so.
func TestTruncatedData(t *testing.T) {
	for _, rate := range []int{16000, 44100} {
		x := tone(440, 0.5, 0, rate, rate) // one second, stereo below
		inter := make([]float32, 2*len(x))
		for i, v := range x {
			inter[2*i], inter[2*i+1] = v, v
		}
		full := wavBytes(t, inter, rate, 2, PCM16)
		const keepFrames = 12345
		cut := full[:44+keepFrames*4+3] // and most of one more frame
		for _, seekable := range []bool{true, false} {
			var r io.Reader = bytes.NewReader(cut)
			if !seekable {
				r = onlyReader{r}
			}
			d, err := NewWAVDecoder(r, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Info().Truncated != seekable {
				t.Fatalf("rate %d seekable=%v: Truncated before reading = %v", rate, seekable, d.Info().Truncated)
			}
			got := readAll(t, d)
			info := d.Info()
			wantLen := (int64(keepFrames)*SampleRate + int64(rate) - 1) / int64(rate)
			if !info.Truncated || !d.Truncated() || info.Frames != keepFrames || info.Samples != wantLen || int64(len(got)) != wantLen {
				t.Fatalf("rate %d seekable=%v: Info %+v, %d samples, want %d frames and %d samples", rate, seekable, info, len(got), keepFrames, wantLen)
			}
			if d.Err() != nil {
				t.Fatalf("Err = %v, want nil for a truncated file", d.Err())
			}
			w := d.Warning()
			if !errors.Is(w, ErrTruncated) || !strings.Contains(w.Error(), "declares 16000 frames") && !strings.Contains(w.Error(), "declares 44100 frames") {
				t.Fatalf("Warning = %v", w)
			}
			_, q := readMonoSource(t, full, -1)
			if want := resampleSlice(t, rate, q[:keepFrames]); !equalBits(got, want) {
				t.Fatalf("rate %d: the decoded part differs from the same frames of the whole file", rate)
			}
		}
	}
}

func TestOptionsValidation(t *testing.T) {
	data := wavBytes(t, make([]float32, 20), 16000, 2, PCM16)
	tests := []struct {
		opts Options
		ok   bool
	}{
		{Options{}, true},
		{Options{Channel: -1}, true},
		{Options{Mix: MixChannel, Channel: 0}, true},
		{Options{Mix: MixChannel, Channel: 1}, true},
		{Options{Mix: MixChannel, Channel: 2}, false},
		{Options{Mix: MixChannel, Channel: -1}, false},
		{Options{Channel: 1}, false}, // a forgotten Mix must not average silently
		{Options{Mix: 7}, false},
	}
	for _, tt := range tests {
		_, err := NewWAVDecoder(bytes.NewReader(data), tt.opts)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalidOptions)) {
			t.Errorf("%+v: err = %v", tt.opts, err)
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	x := tone(1000, 0.5, 0, 48000, 4800)
	// The extension lies: content decides.
	wav := write("speech.mp3", wavBytes(t, x, 48000, 1, PCM16))
	d, err := Open(wav, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(readAll(t, d)); n != 1600 || d.Info().Samples != 1600 {
		t.Fatalf("%d samples, Info %+v", n, d.Info())
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := d.Read(make([]float32, 10)); err == nil {
		t.Fatal("Read after Close succeeded")
	}

	missing := filepath.Join(dir, "missing.wav")
	if _, err := Open(missing, Options{}); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Open(write("empty.wav", nil), Options{}); !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), "file is empty") {
		t.Errorf("empty file: %v", err)
	}
	// Without ffmpeg, formats only it reads say how to get it; a header
	// of a format the built-in decoders read, with nothing after it, is a
	// damaged file.
	builtin := Options{Decoder: DecoderBuiltin}
	for _, tt := range []struct {
		content string
		is      []error
		says    string
	}{
		{"ID3\x04\x00\x00\x00\x00\x00\x00", []error{ErrCorrupt}, "MP3 file holds tags but no audio"},
		{"fLaC\x00\x00\x00\x22", []error{ErrCorrupt, ErrTruncated}, "FLAC header"},
		{"\x00\x00\x00\x20ftypM4A ", []error{ErrUnsupportedFormat, ErrNeedsFFmpeg}, "M4A/AAC needs ffmpeg: install it ("},
		{"\x00\x00\x00\x20ftypisom", []error{ErrUnsupportedFormat, ErrNeedsFFmpeg}, "MP4/M4A needs ffmpeg"},
		{"\x1a\x45\xdf\xa3\x01\x00\x00\x00webm", []error{ErrUnsupportedFormat, ErrNeedsFFmpeg}, "WebM needs ffmpeg"},
		{"#!AMR\n", []error{ErrNeedsFFmpeg}, "AMR needs ffmpeg"},
		{"hello, this is text", []error{ErrUnsupportedFormat}, "unrecognised content"},
	} {
		p := write("x.wav", []byte(tt.content))
		_, err := Open(p, builtin)
		for _, want := range tt.is {
			if !errors.Is(err, want) {
				t.Errorf("%q: %v does not wrap %v", tt.content, err, want)
			}
		}
		if err == nil || !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: %v, want it to say %q", tt.content, err, tt.says)
		}
	}
}

func TestWriteWAVQuantization(t *testing.T) {
	nan := float32(math.NaN())
	in := []float32{0, 1, -1, 1.5, -1.5, 0.5 / 32768, -0.5 / 32768, 0.49 / 32768, nan}
	tests := []struct {
		f    WAVFormat
		want []int64
	}{
		{PCM8, []int64{0, 127, -128, 127, -128, 0, 0, 0, 0}},
		{PCM16, []int64{0, 32767, -32768, 32767, -32768, 1, -1, 0, 0}},
		{PCM24, []int64{0, 1<<23 - 1, -1 << 23, 1<<23 - 1, -1 << 23, 128, -128, 125, 0}},
		{PCM32, []int64{0, 1<<31 - 1, -1 << 31, 1<<31 - 1, -1 << 31, 1 << 15, -1 << 15, 32113, 0}},
	}
	for _, tt := range tests {
		b := wavBytes(t, in, 16000, 1, tt.f)
		size := tt.f.bytes()
		body := b[44:]
		for i, want := range tt.want {
			s := body[i*size : (i+1)*size]
			var got int64
			switch size {
			case 1:
				got = int64(s[0]) - 128
			case 2:
				got = int64(int16(binary.LittleEndian.Uint16(s)))
			case 3:
				got = int64(int32(uint32(s[0])<<8|uint32(s[1])<<16|uint32(s[2])<<24) >> 8)
			case 4:
				got = int64(int32(binary.LittleEndian.Uint32(s)))
			}
			if got != want {
				t.Errorf("%d-bit: %v -> %d, want %d", size*8, in[i], got, want)
			}
		}
	}
	// Half a step of PCM8 rounds away from zero.
	if b := wavBytes(t, []float32{0.5 / 128, -0.5 / 128}, 16000, 1, PCM8); b[44] != 129 || b[45] != 127 {
		t.Errorf("PCM8 halves: %d %d", b[44], b[45])
	}
	for _, bad := range []struct {
		x        []float32
		rate, ch int
		f        WAVFormat
	}{
		{[]float32{0}, 16000, 0, PCM16},
		{[]float32{0, 0, 0}, 16000, 2, PCM16},
		{[]float32{0}, 0, 1, PCM16},
		{[]float32{0}, 16000, 1, 0},
		{[]float32{0}, 16000, 1, 99},
		{[]float32{0}, 16000, 1, Extensible},
	} {
		if err := WriteWAV(io.Discard, bad.x, bad.rate, bad.ch, bad.f); err == nil {
			t.Errorf("WriteWAV(%d Hz, %d ch, format %d) succeeded", bad.rate, bad.ch, bad.f)
		}
	}
}
