package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// playbackRate is the rate of the samples handed to the UI: the decoder's.
const playbackRate = 16000

// maxPlaybackSeconds bounds what one AudioSamples hands over (about 115 MB
// of PCM an hour crosses the bridge as base64).
const maxPlaybackSeconds = 3 * 3600

// peaksPerFile is the waveform's resolution: enough points for a wide
// screen, few enough to draw at once.
const peaksPerFile = 2000

// AudioData is a job's audio for the player and the waveform. WebKitGTK
// cannot play media from the wails:// scheme, so the UI plays these
// samples through Web Audio instead.
type AudioData struct {
	SampleRate int `json:"sampleRate"`
	// PCM is mono signed 16-bit little-endian samples, base64.
	PCM      string  `json:"pcm"`
	Duration float64 `json:"duration"`
	// Peaks are the largest absolute sample of each of len(Peaks) equal
	// stretches of the file, 0..1: the waveform.
	Peaks []float32 `json:"peaks"`
}

// AudioSamples decodes the job's source file (never modified) for
// playback: 16 kHz mono, with the waveform's peaks.
func (a *App) AudioSamples(id int64) (AudioData, error) {
	var req *transcribe.Request
	for _, j := range a.queue.Jobs() {
		if int64(j.ID) == id {
			req = &j.Request
		}
	}
	if req == nil {
		return AudioData{}, fmt.Errorf("job %d: %w", id, transcribe.ErrUnknownJob)
	}
	opts := audio.Options{FFmpegPath: req.FFmpegPath}
	if req.Channel != nil && *req.Channel >= 0 {
		opts.Mix, opts.Channel = audio.MixChannel, *req.Channel
	}
	return decodeForPlayback(req.Path, opts)
}

// HistoryAudioSamples is AudioSamples for a past transcript: the file it
// was last transcribed from, as long as that is still there unchanged
// (checked against the content hash the history keeps). The channel a job
// may have picked is not in the history: all channels are mixed.
func (a *App) HistoryAudioSamples(id int64) (AudioData, error) {
	if a.history == nil {
		return AudioData{}, errNoHistory
	}
	ctx, cancel := a.timeout(editTimeout)
	e, _, err := a.history.Transcript(ctx, id)
	cancel()
	if err != nil {
		return AudioData{}, fmt.Errorf("opening the transcript: %w", err)
	}
	if err := sameSource(e.Source, e.SHA256); err != nil {
		return AudioData{}, err
	}
	return decodeForPlayback(e.Source, audio.Options{FFmpegPath: a.settings.Get().FFmpegPath})
}

// sameSource checks that the file at path is there with the content whose
// SHA-256 is sum ("" skips the comparison). Its errors say the transcript
// is safe: only the audio is missing.
func sameSource(path, sum string) error {
	const still = "the transcript itself is still in the history"
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("the audio file %s is not there any more (moved, renamed or deleted), so it cannot be played; %s", path, still)
	}
	if err != nil {
		return fmt.Errorf("the audio file %s cannot be read (%s), so it cannot be played; %s", path, unwrapPathError(err), still)
	}
	defer f.Close()
	if sum == "" {
		return nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("the audio file %s cannot be read (%s), so it cannot be played; %s", path, unwrapPathError(err), still)
	}
	if !strings.EqualFold(hex.EncodeToString(h.Sum(nil)), sum) {
		return fmt.Errorf("the audio file %s has changed since it was transcribed, so it would not match the transcript and is not played; %s", path, still)
	}
	return nil
}

func decodeForPlayback(path string, opts audio.Options) (AudioData, error) {
	d, err := audio.Open(path, opts)
	if err != nil {
		return AudioData{}, fmt.Errorf("reading %s for playback: %w", path, err)
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
			return AudioData{}, fmt.Errorf("reading %s for playback: %w", path, err)
		}
		if len(samples) > maxPlaybackSeconds*playbackRate {
			return AudioData{}, fmt.Errorf("%s is longer than %d hours, too long to play in the app", path, maxPlaybackSeconds/3600)
		}
	}
	return AudioData{
		SampleRate: playbackRate,
		PCM:        base64.StdEncoding.EncodeToString(pcm16(samples)),
		Duration:   float64(len(samples)) / playbackRate,
		Peaks:      peaks(samples, peaksPerFile),
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
