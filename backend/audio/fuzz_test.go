package audio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeWAV feeds arbitrary bytes to the decoder: it must never panic
// or hang, every sample must lie in [-1, 1], and a file that is not cut
// short must deliver exactly the number of samples Info announced.
//
// The seeds run as ordinary tests; fuzz with
// go test -fuzz=FuzzDecodeWAV ./backend/audio
func FuzzDecodeWAV(f *testing.F) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, format := range []WAVFormat{PCM8, PCM16, PCM24, PCM32, Float32, Float64, PCM24 | Extensible, Float32 | Extensible} {
		for _, rate := range []int{8000, 16000, 44100} {
			for _, channels := range []int{1, 2} {
				x := make([]float32, 37*channels)
				noise(rng, x, 1)
				var b bytes.Buffer
				if err := WriteWAV(&b, x, rate, channels, format); err != nil {
					f.Fatal(err)
				}
				f.Add(b.Bytes())
				f.Add(b.Bytes()[:b.Len()-5]) // truncated data
			}
		}
	}
	pcm := fmtBody(tagPCM, 1, 16000, 2, 16)
	samples := le16s(1, -2, 3, -4, 5)
	f.Add([]byte{})
	f.Add([]byte("RIFF"))
	f.Add(riff("RIFF", "WAVE"))
	f.Add(riff("RIFF", "WAVE", chunk("LIST", []byte("INFOx"), true), chunk("fmt ", pcm, true), chunk("data", samples, true)))
	f.Add(riff("RIFF", "WAVE", chunk("fmt ", pcm, true), chunk("LIST", []byte("odd"), false), chunk("data", samples, true)))
	f.Add(riff("RIFF", "WAVE", chunk("fmt ", extFmtBody(tagFloat, 2, 48000, 8, 32, 32), true), chunkSized("data", 0xFFFFFFFF, samples, false)))
	f.Add(riff("RIFF", "WAVE", chunk("fmt ", fmtBody(0x0002, 1, 16000, 256, 4), true), chunk("data", samples, true)))
	ds64 := binary.LittleEndian.AppendUint64(make([]byte, 8), 10)
	ds64 = append(ds64, make([]byte, 12)...)
	f.Add(riff("RF64", "WAVE", chunk("ds64", ds64, true), chunk("fmt ", pcm, true), chunkSized("data", 0xFFFFFFFF, samples, true)))
	for _, name := range []string{"sox-u8-stereo-44k.wav", "ffmpeg-s24-stereo-44k.wav"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 600)])
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, seekable := range []bool{true, false} {
			var r io.Reader = bytes.NewReader(data)
			if !seekable {
				r = onlyReader{r}
			}
			d, err := NewWAVDecoder(r, Options{})
			if err != nil {
				if d != nil || err.Error() == "" {
					t.Fatalf("error %v with decoder %v", err, d)
				}
				continue
			}
			announced := d.Info().Samples
			// Output can be no longer than 16 samples per input byte:
			// at least one byte per frame, at least 1000 Hz.
			limit := 16*int64(len(data)) + 1
			buf := make([]float32, 777)
			var total int64
			for {
				n, err := d.Read(buf)
				for _, v := range buf[:n] {
					if !(v >= -1 && v <= 1) {
						t.Fatalf("sample %v out of range", v)
					}
				}
				total += int64(n)
				if total > limit {
					t.Fatalf("more than %d samples from %d bytes", limit, len(data))
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if n == 0 {
					t.Fatal("Read returned 0, nil")
				}
			}
			info := d.Info()
			if info.Samples >= 0 && info.Samples != total {
				t.Fatalf("Info.Samples %d (announced %d), delivered %d (seekable %v, info %+v)", info.Samples, announced, total, seekable, info)
			}
			if seekable && announced != total {
				t.Fatalf("announced %d samples, delivered %d", announced, total)
			}
		}
	})
}

// FuzzChunker checks the chunking invariants on random signals, lengths,
// read sizes and options: offsets contiguous, every chunk non-empty and
// within MaxSeconds, the chunks together exactly the input, and a chunk
// flagged silent really quiet.
func FuzzChunker(f *testing.F) {
	f.Add(uint64(1), uint32(100000), uint16(1000), uint16(300), uint8(10), uint16(0), int8(-60), uint8(0))
	f.Add(uint64(2), uint32(0), uint16(0), uint16(0), uint8(0), uint16(0), int8(0), uint8(1))
	f.Add(uint64(3), uint32(16000), uint16(1000), uint16(1000), uint8(10), uint16(1), int8(-30), uint8(2))
	f.Add(uint64(4), uint32(16001), uint16(1000), uint16(5000), uint8(255), uint16(7), int8(-90), uint8(3))
	f.Add(uint64(5), uint32(33333), uint16(1), uint16(1), uint8(1), uint16(3), int8(-20), uint8(4))
	f.Add(uint64(6), uint32(250000), uint16(5000), uint16(4999), uint8(20), uint16(4096), int8(-40), uint8(5))
	f.Fuzz(func(t *testing.T, seed uint64, n uint32, maxMs, searchMs uint16, frameMs uint8, step uint16, silence int8, kind uint8) {
		n %= 400000
		rng := rand.New(rand.NewPCG(seed, uint64(kind)))
		x := make([]float32, n)
		// Segments of noise at random levels, digital silence and tones.
		for i := 0; i < len(x); {
			seg := min(len(x)-i, 1+rng.IntN(40000))
			switch (int(kind) + rng.IntN(3)) % 4 {
			case 0:
				noise(rng, x[i:i+seg], float32(math.Pow(10, -4*rng.Float64())))
			case 1:
				clear(x[i : i+seg])
			case 2:
				copy(x[i:i+seg], tone(1000*rng.Float64()+50, rng.Float64(), 0, SampleRate, seg))
			default:
				for j := range x[i : i+seg] {
					x[i+j] = 0.25
				}
			}
			i += seg
		}
		opts := ChunkOptions{
			MaxSeconds:    float64(maxMs) / 1000,
			SearchSeconds: float64(searchMs) / 1000,
			FrameMs:       int(frameMs),
			SilenceDBFS:   float64(silence),
		}
		window := sec(30)
		if maxMs > 0 {
			window = max(1, sec(opts.MaxSeconds))
		}
		frame := DefaultFrameMs * SampleRate / 1000
		if frameMs > 0 {
			frame = int(frameMs) * SampleRate / 1000
		}
		frame = min(frame, window)
		threshold := math.Pow(10, DefaultSilenceDBFS/10.0)
		if silence != 0 {
			threshold = math.Pow(10, float64(silence)/10)
		}
		for _, ch := range chunkAll(t, x, int(step), opts, window) {
			if !ch.Silent {
				continue
			}
			// Every frame's mean square is under the threshold, so no
			// single sample can exceed frame*threshold in square.
			for _, v := range ch.Samples {
				if float64(v)*float64(v) >= float64(frame)*threshold {
					t.Fatalf("chunk %d flagged silent holds a sample of %v", ch.Index, v)
				}
			}
		}
	})
}

// compressedSeeds are the committed MP3, FLAC, Ogg Vorbis and Opus
// fixtures, whole, cut short, and cut to their headers.
func compressedSeeds(f *testing.F, exts ...string) [][]byte {
	var out [][]byte
	for _, ext := range exts {
		paths, _ := filepath.Glob(filepath.Join("testdata", "*."+ext))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			out = append(out, b, b[:len(b)*2/3], b[:min(len(b), 700)])
		}
	}
	return out
}

// FuzzBuiltinDecoders feeds arbitrary files to the built-in decoders
// (sniffing picks one): no panic, no hang, samples in [-1, 1], and Info
// agrees with what was delivered.
func FuzzBuiltinDecoders(f *testing.F) {
	for _, b := range compressedSeeds(f, "mp3", "flac", "ogg", "opus") {
		f.Add(b)
	}
	f.Add([]byte("fLaC"))
	f.Add([]byte("OggS\x00\x02"))
	f.Add([]byte("ID3\x03\x00\x00\x00\x00\x00\x10"))
	dir := f.TempDir()
	var n int
	f.Fuzz(func(t *testing.T, data []byte) {
		n++
		path := filepath.Join(dir, fmt.Sprintf("in-%d", n))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		d, err := Open(path, Options{Decoder: DecoderBuiltin})
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		defer d.Close()
		limit := 6000*int64(len(data)) + 100000
		buf := make([]float32, 1000)
		var total int64
		for {
			k, err := d.Read(buf)
			for _, v := range buf[:k] {
				if !(v >= -1 && v <= 1) {
					t.Fatalf("sample %v out of range", v)
				}
			}
			total += int64(k)
			if total > limit {
				t.Fatalf("more than %d samples from %d bytes", limit, len(data))
			}
			if err != nil {
				break
			}
			if k == 0 {
				t.Fatal("Read returned 0, nil")
			}
		}
		if d.Err() == nil {
			if info := d.Info(); info.Samples != total {
				t.Fatalf("Info.Samples %d, delivered %d", info.Samples, total)
			}
		}
	})
}

// FuzzMP3Tag: the frame header, Xing/Info, LAME and VBRI parsers and the
// content sniffer take any bytes.
func FuzzMP3Tag(f *testing.F) {
	for _, b := range compressedSeeds(f, "mp3") {
		if k, ok := id3Size(b); ok && int(k) < len(b) {
			b = b[k:]
		}
		f.Add(b[:min(len(b), 2000)])
	}
	xing := append([]byte{0xFF, 0xFB, 0x50, 0xC4}, make([]byte, 32)...)
	xing = append(xing, "Xing\x00\x00\x00\x0f\x00\x00\x00\x10\x00\x00\x10\x00"...)
	f.Add(append(xing, make([]byte, 200)...))
	f.Add(append(append([]byte{0xFF, 0xFB, 0x50, 0xC4}, make([]byte, 32)...), "VBRI"...))
	f.Fuzz(func(t *testing.T, b []byte) {
		tag := parseMP3Tag(b)
		if tag.present && (tag.delay > 4095 || tag.padding > 4095) {
			t.Fatalf("12-bit fields out of range: %+v", tag)
		}
		if h, ok := parseMPEGHeader(b); ok && (h.size <= 4 || h.rate == 0 || h.samples == 0) {
			t.Fatalf("accepted header %+v", h)
		}
		sniffKind(b, false)
		sniffKind(b, true)
		id3Size(b)
		wavFormatTag(b)
	})
}

// FuzzOggPackets: the Ogg page reader and the Opus header parsers take
// any bytes and always end.
func FuzzOggPackets(f *testing.F) {
	for _, b := range compressedSeeds(f, "ogg", "opus") {
		f.Add(b)
	}
	f.Add([]byte("OggS"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o := newOggReader(bytes.NewReader(b))
		for i := 0; ; i++ {
			if i > len(b)+10 {
				t.Fatalf("%d packets from %d bytes", i, len(b))
			}
			p, _, err := o.nextPacket()
			if err != nil {
				break
			}
			if i == 0 {
				parseOpusHead(p)
			}
			if s := opusPacketSamples(p); s < 0 || s > 5760 {
				t.Fatalf("packet of %d samples", s)
			}
		}
		oggLastGranule(bytes.NewReader(b), int64(len(b)), 0)
	})
}
