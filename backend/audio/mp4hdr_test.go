package audio

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// mp4Variants are ISO media files ffmpeg makes, and whether our header
// reader should take them (false: it leaves them to ffprobe).
var mp4Variants = []struct {
	name string
	args []string
	ours bool
}{
	{"stereo-44k.m4a", []string{"-f", "lavfi", "-i", "sine=f=440:r=44100:d=2.3", "-ac", "2", "-c:a", "aac"}, true},
	{"mono-48k.m4a", []string{"-f", "lavfi", "-i", "sine=f=440:r=48000:d=1.7", "-c:a", "aac"}, true},
	{"faststart-22k.mp4", []string{"-f", "lavfi", "-i", "sine=f=440:r=22050:d=1.2", "-ac", "2", "-c:a", "aac", "-movflags", "+faststart"}, true},
	{"video-then-audio.mp4", []string{"-f", "lavfi", "-i", "color=c=red:s=64x48:r=10:d=2", "-f", "lavfi", "-i", "sine=r=48000:d=2",
		"-map", "0:v", "-map", "1:a", "-c:v", "mpeg4", "-c:a", "aac", "-ac", "2"}, true},
	{"quicktime.mov", []string{"-f", "lavfi", "-i", "sine=f=440:r=44100:d=1.5", "-ac", "2", "-c:a", "aac"}, true},
	{"surround.m4a", []string{"-f", "lavfi", "-i", "sine=r=48000:d=1", "-ac", "6", "-c:a", "aac"}, true},
	{"alac.m4a", []string{"-f", "lavfi", "-i", "sine=r=44100:d=1", "-c:a", "alac"}, false},
	{"video-only.mp4", []string{"-f", "lavfi", "-i", "color=c=red:s=64x48:r=10:d=1", "-c:v", "mpeg4"}, false},
}

// The header reader learns what ffprobe does (rate, channels, codec and,
// to the millisecond, length) from the files it takes, and declines the
// others.
func TestMP4ProbeMatchesFFprobe(t *testing.T) {
	needFFmpeg(t)
	tools, err := findFFmpeg(Options{Decoder: DecoderFFmpeg})
	if err != nil || tools.ffprobe == "" {
		t.Skipf("no ffprobe beside ffmpeg (%v)", err)
	}
	dir := t.TempDir()
	for _, v := range mp4Variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, v.name)
			ffmpegRun(t, append(v.args, path)...)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			kind, err := sniffFile(f)
			if err != nil {
				t.Fatal(err)
			}
			hp, ok := probeHeaders(f, kind)
			if ok != v.ours {
				t.Fatalf("%s (%s): read from the headers %v, want %v (%+v)", v.name, kind.name, ok, v.ours, hp)
			}
			if !ok {
				return
			}
			p, err := probe(tools, path, kind)
			if err != nil {
				t.Fatal(err)
			}
			if hp.rate != p.rate || hp.channels != p.channels || hp.codec != p.codec || hp.format != p.format+"/"+p.codec ||
				math.Abs(hp.duration-p.duration) > 0.001 || hp.estimated || hp.frames != -1 {
				t.Errorf("headers %+v, ffprobe %+v", hp.probeInfo, p)
			}
		})
	}
}

// FuzzMP4Header: hostile ISO media headers never panic, never hang, and
// what the reader accepts is sane.
func FuzzMP4Header(f *testing.F) {
	for _, p := range mp4Seeds() {
		f.Add(p)
	}
	f.Add([]byte("\x00\x00\x00\x08moov"))
	f.Add([]byte("\x00\x00\x00\x01moov\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Add([]byte("\x00\x00\x00\x00moov\x00\x00\x00\x00trak"))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := parseMP4Audio(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if a.codec != "aac" || a.rate <= 0 || a.channels < 1 || a.channels > 6 || a.duration < 0 || math.IsNaN(a.duration) || math.IsInf(a.duration, 0) {
			t.Fatalf("accepted %+v", a)
		}
	})
}

// mp4Seeds is a small M4A built by hand: ftyp, then moov with mvhd and
// one sound trak (edit list, mdhd, hdlr, stsd with mp4a and esds), then
// an empty mdat.
func mp4Seeds() [][]byte {
	box := func(typ string, parts ...[]byte) []byte {
		body := bytes.Join(parts, nil)
		out := be32(uint32(8 + len(body)))
		return append(append(out, typ...), body...)
	}
	zeros := func(n int) []byte { return make([]byte, n) }
	mvhd := box("mvhd", zeros(12), be32(1000), be32(2300), zeros(80))
	elst := box("elst", zeros(4), be32(1), be32(2300), be32(1024), be32(0x00010000))
	mdhd := box("mdhd", zeros(12), be32(44100), be32(102400), zeros(4))
	hdlr := box("hdlr", zeros(8), []byte("soun"), zeros(12))
	asc := []byte{0x12, 0x10} // AAC LC, 44.1 kHz, stereo
	dsi := append([]byte{0x05, byte(len(asc))}, asc...)
	dcd := append(append([]byte{0x04, byte(13 + len(dsi)), 0x40, 0x15}, zeros(11)...), dsi...)
	es := append([]byte{0x03, byte(3 + len(dcd)), 0, 1, 0}, dcd...)
	esds := box("esds", zeros(4), es)
	entry := box("mp4a", zeros(6), []byte{0, 1}, zeros(8), []byte{0, 2, 0, 16}, zeros(4), be32(44100<<16), esds)
	stsd := box("stsd", zeros(4), be32(1), entry)
	trak := box("trak", box("edts", elst), box("mdia", mdhd, hdlr, box("minf", box("stbl", stsd))))
	file := bytes.Join([][]byte{box("ftyp", []byte("M4A \x00\x00\x02\x00isom")), box("moov", mvhd, trak), box("mdat")}, nil)
	return [][]byte{file, file[:len(file)/2], file[:40]}
}

func be32(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }

// The hand-made seed parses: the fuzzer starts from an accepted file.
func TestMP4Seed(t *testing.T) {
	a, err := parseMP4Audio(bytes.NewReader(mp4Seeds()[0]), int64(len(mp4Seeds()[0])))
	if err != nil || a != (mp4Audio{codec: "aac", rate: 44100, channels: 2, duration: 2.3}) {
		t.Fatalf("%+v, %v", a, err)
	}
}
