package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// The session's audio file is 16 kHz mono 16-bit PCM WAV with a plain
// 44-byte header. While recording, the header's sizes are 0: the
// "streaming" placeholder that backend/audio (and ffmpeg) read as "the
// data runs to the end of the file", so a file left by a crash plays as
// it is, up to the last sync. Close writes the real sizes; RepairWAV
// writes them into a file a crash left.
const wavHeaderSize = 44

type wavFile struct {
	f       *os.File
	path    string
	samples int64 // written
	dirty   bool  // written since the last sync
	buf     []byte
}

func createWAV(path string) (*wavFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	w := &wavFile{f: f, path: path}
	if _, err := f.Write(wavHeader(0, true)); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return w, nil
}

// wavHeader is the header of a file with samples samples; streaming
// writes the zero placeholder sizes instead.
func wavHeader(samples int64, streaming bool) []byte {
	le := binary.LittleEndian
	data := uint32(samples * 2)
	riff := uint32(36 + samples*2)
	if streaming {
		data, riff = 0, 0
	}
	h := make([]byte, 0, wavHeaderSize)
	h = append(h, "RIFF"...)
	h = le.AppendUint32(h, riff)
	h = append(h, "WAVEfmt "...)
	h = le.AppendUint32(h, 16)
	h = le.AppendUint16(h, 1) // PCM
	h = le.AppendUint16(h, 1) // mono
	h = le.AppendUint32(h, SampleRate)
	h = le.AppendUint32(h, SampleRate*2)
	h = le.AppendUint16(h, 2)
	h = le.AppendUint16(h, 16)
	h = append(h, "data"...)
	h = le.AppendUint32(h, data)
	return h
}

// maxWAVSamples keeps the file under 4 GiB (37 hours at 16 kHz).
const maxWAVSamples = (math.MaxUint32 - wavHeaderSize) / 2

var errWAVFull = errors.New("the recording reached the 4 GiB limit of a WAV file")

func (w *wavFile) write(x []float32) error {
	if w.samples+int64(len(x)) > maxWAVSamples {
		return errWAVFull
	}
	w.buf = w.buf[:0]
	for _, v := range x {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(pcm16(v)))
	}
	if _, err := w.f.Write(w.buf); err != nil {
		return err
	}
	w.samples += int64(len(x))
	w.dirty = true
	return nil
}

func pcm16(v float32) int16 {
	if v != v {
		return 0
	}
	q := math.Round(float64(v) * 32768)
	return int16(max(-32768, min(32767, q)))
}

func (w *wavFile) sync() error {
	if !w.dirty {
		return nil
	}
	w.dirty = false
	return w.f.Sync()
}

// finish writes the real sizes, syncs and closes.
func (w *wavFile) finish() error {
	if _, err := w.f.WriteAt(wavHeader(w.samples, false), 0); err != nil {
		w.f.Close()
		return err
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		return err
	}
	return w.f.Close()
}

// RepairWAV makes a session's audio file that a crash left complete: the
// header gets the sizes of the samples the file holds (a last half sample
// is cut off). It returns the number of samples. A file already complete
// is left as it is.
func RepairWAV(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	h := make([]byte, wavHeaderSize)
	if _, err := io.ReadFull(f, h); err != nil {
		return 0, fmt.Errorf("%s: not a live session's WAV file: %w", path, err)
	}
	want := wavHeader(0, true)
	if string(h[:4]) != "RIFF" || string(h[8:40]) != string(want[8:40]) {
		return 0, fmt.Errorf("%s: not a live session's WAV file", path)
	}
	samples := (st.Size() - wavHeaderSize) / 2
	if st.Size() != wavHeaderSize+samples*2 {
		if err := f.Truncate(wavHeaderSize + samples*2); err != nil {
			return 0, err
		}
	}
	if string(h) == string(wavHeader(samples, false)) {
		return samples, nil
	}
	if _, err := f.WriteAt(wavHeader(samples, false), 0); err != nil {
		return 0, err
	}
	return samples, f.Sync()
}
