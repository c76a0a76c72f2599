package main

import (
	"encoding/base64"
	"fmt"

	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

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

// forPlayer is p as it crosses the bridge: the PCM in base64.
func forPlayer(p audio.Playback) AudioData {
	return AudioData{SampleRate: p.SampleRate, PCM: base64.StdEncoding.EncodeToString(p.PCM), Duration: p.Duration, Peaks: p.Peaks}
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
	p, err := audio.DecodePlayback(req.Path, opts)
	if err != nil {
		return AudioData{}, err
	}
	return forPlayer(p), nil
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
	if err := audio.SameSource(e.Source, e.SHA256); err != nil {
		// Only the audio is missing: say that the transcript is safe.
		return AudioData{}, fmt.Errorf("%w; the transcript itself is still in the history", err)
	}
	p, err := audio.DecodePlayback(e.Source, audio.Options{FFmpegPath: a.settings.Get().FFmpegPath})
	if err != nil {
		return AudioData{}, err
	}
	return forPlayer(p), nil
}
