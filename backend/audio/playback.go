package audio

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
)

// MaxPlaybackSeconds bounds what one DecodePlayback hands over (an hour
// is about 115 MB of PCM, and more as base64 across the app's bridge).
const MaxPlaybackSeconds = 3 * 3600

// PlaybackPeaks is the waveform's resolution: enough points for a wide
// screen, few enough to draw at once.
const PlaybackPeaks = 2000

// Playback is a file's audio for a player and its waveform.
type Playback struct {
	SampleRate int // Hz: the decoder's, SampleRate
	// PCM is mono signed 16-bit little-endian samples.
	PCM      []byte
	Duration float64 // seconds
	// Peaks are the largest absolute sample of each of len(Peaks) equal
	// stretches of the file, 0..1: the waveform.
	Peaks []float32
}

// DecodePlayback decodes the file at path (never modified) for playback:
// 16 kHz mono PCM with PlaybackPeaks peaks (fewer for a very short file).
func DecodePlayback(path string, opts Options) (Playback, error) {
	d, err := Open(path, opts)
	if err != nil {
		return Playback{}, fmt.Errorf("reading %s for playback: %w", path, err)
	}
	defer d.Close()
	var samples []float32
	buf := make([]float32, 1<<14)
	for {
		n, err := d.Read(buf)
		samples = append(samples, buf[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Playback{}, fmt.Errorf("reading %s for playback: %w", path, err)
		}
		if len(samples) > MaxPlaybackSeconds*SampleRate {
			return Playback{}, fmt.Errorf("%s is longer than %d hours, too long to play in the app", path, MaxPlaybackSeconds/3600)
		}
	}
	return Playback{
		SampleRate: SampleRate,
		PCM:        pcm16(samples),
		Duration:   float64(len(samples)) / SampleRate,
		Peaks:      peaks(samples, PlaybackPeaks),
	}, nil
}

// pcm16 packs samples as signed 16-bit little-endian, clipping.
func pcm16(samples []float32) []byte {
	out := make([]byte, 2*len(samples))
	for i, s := range samples {
		v := math.Round(float64(s) * 32767)
		v = max(-32768, min(32767, v))
		binary.LittleEndian.PutUint16(out[2*i:], uint16(int16(v)))
	}
	return out
}

// peaks splits samples into n equal stretches (fewer for a short file)
// and returns each one's largest absolute value.
func peaks(samples []float32, n int) []float32 {
	if len(samples) == 0 {
		return []float32{}
	}
	n = min(n, len(samples))
	out := make([]float32, n)
	for i := range n {
		lo, hi := i*len(samples)/n, (i+1)*len(samples)/n
		var m float32
		for _, s := range samples[lo:hi] {
			m = max(m, float32(math.Abs(float64(s))))
		}
		out[i] = min(m, 1)
	}
	return out
}

// SameSource checks that the file at path is there with the content
// whose SHA-256 (hex) is sum ("" skips the comparison), before a
// transcript made from it is played with it. Its errors name the file and
// end "so it cannot be played" or "and is not played".
func SameSource(path, sum string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the audio file %s is not there any more (moved, renamed or deleted), so it cannot be played", path)
	}
	if err != nil {
		return fmt.Errorf("the audio file %s cannot be read (%s), so it cannot be played", path, apperr.PathReason(err))
	}
	defer f.Close()
	if sum == "" {
		return nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("the audio file %s cannot be read (%s), so it cannot be played", path, apperr.PathReason(err))
	}
	if !strings.EqualFold(hex.EncodeToString(h.Sum(nil)), sum) {
		return fmt.Errorf("the audio file %s has changed since it was transcribed, so it would not match the transcript and is not played", path)
	}
	return nil
}
