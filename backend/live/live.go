// Package live transcribes a stream as it is heard: a Session is fed 16 kHz
// mono frames (from the app's microphone, or a file played as one), cuts
// them into utterances at pauses with its own voice-activity detector, and
// while an utterance is open sends it as an ordinary ModelInfer every few
// hundred milliseconds: the answers are partial results. When the pause
// comes, the whole utterance is recognised once more and that answer is
// final. It works with every model of the contract and needs nothing new
// on the server.
//
// Nothing is lost: the audio goes to a WAV file as it arrives (synced at
// least every SyncEvery), every final is stored (in the store's chunks,
// under the session's plan) before it is announced, finals the server
// cannot take now wait and are sent again when it is back, and Close turns
// the session into an ordinary history entry. Recover finishes sessions a
// crash interrupted.
package live

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// SampleRate is the rate of the frames a Session takes.
const SampleRate = audio.SampleRate

// Recognizer hears one clip: *inference.Model, and the engine's models,
// satisfy it. A final of utterance n is sent with id n, its partials
// with PartialID(n).
type Recognizer interface {
	Recognize(ctx context.Context, id int, samples []float32, opts inference.Options) (transcript.ChunkResult, error)
}

// PartialID is the request id of utterance n's partials.
func PartialID(n int) int { return -1 - n }

// Store keeps finals as they come and the session at its end;
// *store.DB is the production one.
type Store interface {
	PutChunk(ctx context.Context, c store.Chunk) error
	Chunks(ctx context.Context, plan string) (map[int]store.Chunk, error)
	PutTranscript(ctx context.Context, e store.Entry, t transcript.Transcript) (int64, error)
}

// Plan is the store's key for session id: its finals are stored as the
// plan's chunks, one per utterance, and its history entry has this plan.
func Plan(id string) string { return "live:" + id }

// RetryPolicy bounds how long one final is sent again while the server is
// away, on top of the retries the Recognizer does itself.
type RetryPolicy struct {
	Attempts int           // default 30
	Delay    time.Duration // first wait, doubling; default 500 ms
	MaxDelay time.Duration // default 15 s
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 30
	}
	if p.Delay <= 0 {
		p.Delay = 500 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 15 * time.Second
	}
	return p
}

// Config sets up a Session.
type Config struct {
	Recognizer Recognizer
	// Options are sent with every request (Timestamps should be on for
	// word times). Limiter, when set, paces the requests with the
	// engine's others.
	Options inference.Options
	// Store keeps the finals and the history entry; nil keeps nothing.
	Store Store
	// Dir is where the audio file and the session's note go (the data
	// folder's "live"); "" writes no audio.
	Dir string
	// ID names the session; "" makes one from the time.
	ID string
	// What the history entry records.
	Server, Model, ModelVersion string
	// ChunkSeconds is the longest clip the model takes (default 30):
	// longer utterances are split at their best pause.
	ChunkSeconds float64
	// PartialEvery is how much audio goes by between partials (default
	// 300 ms); a partial due while one is in flight is skipped.
	PartialEvery time.Duration
	// LevelEvery is how much audio one level event covers (default 50 ms).
	LevelEvery time.Duration
	// SyncEvery bounds the time audio stays unsynced (default 1 s).
	SyncEvery time.Duration
	VAD       VADOptions
	Retry     RetryPolicy
	// Clock is the wall clock; nil is the real one.
	Clock Clock
	// Emit hears every event, in order, from one goroutine; it may be
	// slow without holding up Feed, and must not call Close.
	Emit func(Event)
}

// EventType says what an Event is.
type EventType string

const (
	EventPartial EventType = "partial" // the open utterance as heard so far
	EventFinal   EventType = "final"   // an utterance, as it stays
	EventLevel   EventType = "level"   // the input level, for a meter
	EventStatus  EventType = "status"  // a notice: server away or back, a final given up, storage trouble
)

// Status kinds.
const (
	StatusOffline  = "offline"  // a final could not be sent; it waits
	StatusOnline   = "online"   // the server answers again; waiting finals go
	StatusFailed   = "failed"   // a final was given up; its audio is in the file
	StatusStorage  = "storage"  // a final could not be stored
	StatusRecovery = "recovery" // Close could not finish everything
)

// Event is what a Session tells. Times are seconds from the session's
// start. Start and End of a partial or final span its words (the
// utterance's voiced audio when it has none).
type Event struct {
	Type      EventType         `json:"type"`
	Utterance int               `json:"utterance"`
	Start     float64           `json:"start"`
	End       float64           `json:"end"`
	Text      string            `json:"text,omitempty"`
	Words     []transcript.Word `json:"words,omitempty"`
	// LatencyMs of a final: from the arrival of the utterance's last
	// voiced audio to the final's emission; PauseMs is the part of it
	// the detector waited for the pause. Of a partial: from the arrival
	// of the last audio it carries to its emission.
	LatencyMs float64 `json:"latency_ms,omitempty"`
	PauseMs   float64 `json:"pause_ms,omitempty"`
	// HeardAt is the wall time LatencyMs counts from, for a listener that
	// measures to the moment it shows the result.
	HeardAt time.Time `json:"-"`
	// Split marks a final cut at a pause inside because the utterance
	// outgrew the model's chunk length.
	Split bool `json:"split,omitempty"`
	// Level events: RMS and peak of the last LevelEvery, dBFS, and
	// whether the detector hears voice.
	Level float64 `json:"level,omitempty"`
	Peak  float64 `json:"peak,omitempty"`
	Voice bool    `json:"voice,omitempty"`
	// Status events.
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Pending int    `json:"pending,omitempty"` // finals waiting to be sent
}

// Stats count what a session did, for tests and the benchmark.
type Stats struct {
	Fed             float64 // seconds of audio fed
	Utterances      int     // finals queued
	Finals          int     // finals emitted
	Failed          int     // finals given up
	Partials        int     // partials emitted
	PartialsSent    int
	PartialsSkipped int // due while one was in flight or finals waited
	Retries         int // final attempts that failed and were retried
	Spilled         int // waiting finals whose audio was dropped from memory, to be read back from the file
}

// Span is a stretch of the session, seconds.
type Span struct {
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// Result is a closed session.
type Result struct {
	ID         string                `json:"id"`
	Transcript transcript.Transcript `json:"transcript"`
	AudioPath  string                `json:"audioPath,omitempty"`
	HistoryID  int64                 `json:"historyId,omitempty"`
	// Untranscribed are utterances whose final never came (the server
	// stayed away, or Close's context ended first): their audio is in
	// the file, which can be transcribed again.
	Untranscribed []Span   `json:"untranscribed,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`
}

// utterance is a stretch of voice being heard or waiting for its final.
type utterance struct {
	index     int
	start     int64     // first sample, from the session's start
	samples   []float32 // append only while open; never written once closed
	voiceFrom int64     // first voiced sample
	voiceTo   int64     // end of the last voiced frame
	voiced    int       // voiced frames
	arrived   time.Time // when the last voiced frame was fed
	closedAt  time.Time
	split     bool
	// partialVoice is voiceTo when the last partial was sent.
	partialVoice int64
	// spilled: samples were dropped while the final waited (n of them);
	// they are read back from the audio file before it is sent.
	spilled bool
	n       int
}

func (u *utterance) end() int64 {
	if u.spilled {
		return u.start + int64(u.n)
	}
	return u.start + int64(len(u.samples))
}

// Session is one live transcription. Feed and Close may be called from
// any goroutine; Feed never waits for the server.
type Session struct {
	cfg    Config
	id     string
	plan   string
	clock  Clock
	vad    *vad
	vo     VADOptions
	retry  RetryPolicy
	window int // chunk length, samples
	// maxQueued is maxQueuedSamples; tests lower it.
	maxQueued int
	ctx       context.Context
	cancel    context.CancelFunc

	mu        sync.Mutex
	wav       *wavFile
	wavErr    error
	lastSync  time.Time
	fed       int64     // samples fed
	frame     []float32 // part of a frame not yet classified
	recent    []float32 // audio before the open utterance (pre-roll), ending at fed
	prevEnd   int64     // end of the last utterance: pre-roll starts no earlier
	run       int       // consecutive voiced frames outside an utterance
	open      *utterance
	next      int // next utterance index
	finals    []*utterance
	sending   bool // the final at the head is being sent
	closing   bool
	wake      chan struct{}
	partial   context.CancelFunc // cancels the partial in flight; nil once cancelled or done
	partialOn bool               // a partial request is in flight (until its goroutine returns)
	partialAt int64              // fed when the last partial fell due
	pieces    map[int]transcript.Piece
	failed    []Span
	warnings  []string
	stats     Stats
	offline   bool
	level     struct {
		sum  float64
		peak float64
		n    int
	}
	voiceNow bool

	// partialDone, when set (by tests), hears every partial request end;
	// syncHook every background sync.
	partialDone func()
	syncHook    func()

	events  *eventQueue
	workers sync.WaitGroup // sender, syncer, partials
	sender  chan struct{}  // closed when the sender is done
	closed  bool
}

// New starts a session: the audio file and the session's note are
// created at once.
func New(cfg Config) (*Session, error) {
	if cfg.Recognizer == nil {
		return nil, errors.New("live: no Recognizer")
	}
	if !(cfg.ChunkSeconds > 0) {
		cfg.ChunkSeconds = 30
	}
	cfg.ChunkSeconds = math.Min(cfg.ChunkSeconds, 600)
	if cfg.PartialEvery <= 0 {
		cfg.PartialEvery = 300 * time.Millisecond
	}
	if cfg.LevelEvery <= 0 {
		cfg.LevelEvery = 50 * time.Millisecond
	}
	if cfg.SyncEvery <= 0 {
		cfg.SyncEvery = time.Second
	}
	cfg.SyncEvery = min(cfg.SyncEvery, 2*time.Second)
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.ID == "" {
		cfg.ID = newID(cfg.Clock.Now())
	}
	s := &Session{
		cfg: cfg, id: cfg.ID, plan: Plan(cfg.ID), clock: cfg.Clock,
		vo: cfg.VAD.withDefaults(), retry: cfg.Retry.withDefaults(),
		window: int(math.Round(cfg.ChunkSeconds * SampleRate)), maxQueued: maxQueuedSamples,
		wake: make(chan struct{}, 1), pieces: map[int]transcript.Piece{},
		sender: make(chan struct{}),
	}
	s.vad = newVAD(s.vo)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if cfg.Dir != "" {
		if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
			return nil, apperr.New(apperr.CodeFile, err, "cannot create the folder for live recordings %s: %v", cfg.Dir, err)
		}
		if err := writeNote(cfg.Dir, note{ID: s.id, Audio: s.audioName(), Server: cfg.Server, Model: cfg.Model,
			ModelVersion: cfg.ModelVersion, Started: s.clock.Now().UTC()}); err != nil {
			return nil, apperr.New(apperr.CodeFile, err, "cannot start the recording in %s: %v", cfg.Dir, err)
		}
		w, err := createWAV(s.AudioPath())
		if err != nil {
			removeNote(cfg.Dir, s.id)
			return nil, apperr.New(apperr.CodeFile, err, "cannot create the recording's audio file: %v", err)
		}
		s.wav = w
	}
	s.lastSync = s.clock.Now()
	s.events = newEventQueue(cfg.Emit)
	s.workers.Add(2)
	go s.sendFinals()
	go s.syncLoop()
	return s, nil
}

func newID(t time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return t.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// ID is the session's name.
func (s *Session) ID() string { return s.id }

func (s *Session) audioName() string { return "live-" + s.id + ".wav" }

// AudioPath is the session's audio file, "" without Config.Dir.
func (s *Session) AudioPath() string {
	if s.cfg.Dir == "" {
		return ""
	}
	return filepath.Join(s.cfg.Dir, s.audioName())
}

// Stats returns the counts so far.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Fed = float64(s.fed) / SampleRate
	return st
}

// ErrClosed is returned by Feed after Close.
var ErrClosed = errors.New("live: the session is closed")

// Feed takes the next samples (16 kHz mono, any length). The slice is not
// kept. It returns an error only when the audio cannot be written; the
// session goes on hearing it regardless.
func (s *Session) Feed(x []float32) error {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return ErrClosed
	}
	if s.wav != nil && s.wavErr == nil {
		if err := s.wav.write(x); err != nil {
			s.wavErr = err
		} else if now.Sub(s.lastSync) >= s.cfg.SyncEvery {
			s.syncLocked(now)
		}
	}
	for len(x) > 0 {
		n := min(len(x), frameSamples-len(s.frame))
		s.frame = append(s.frame, x[:n]...)
		x = x[n:]
		if len(s.frame) == frameSamples {
			s.frameLocked(s.frame, now)
			s.frame = s.frame[:0]
		}
	}
	if s.wavErr != nil {
		return apperr.New(apperr.CodeFile, s.wavErr, "cannot write the recording's audio: %v", s.wavErr)
	}
	return nil
}

// FeedPCM16 is Feed for 16-bit little-endian PCM at 16 kHz mono: the
// compact form a UI sends its frames in (Wails passes []byte as base64).
// A last odd byte is ignored.
func (s *Session) FeedPCM16(b []byte) error {
	x := make([]float32, len(b)/2)
	for i := range x {
		x[i] = float32(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 32768
	}
	return s.Feed(x)
}

func (s *Session) syncLocked(now time.Time) {
	s.lastSync = now
	if s.wav == nil || s.wavErr != nil {
		return
	}
	if err := s.wav.sync(); err != nil {
		s.wavErr = err
	}
}

// syncLoop syncs audio that a paused feed left unsynced.
func (s *Session) syncLoop() {
	defer s.workers.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.clock.After(s.cfg.SyncEvery):
		}
		s.mu.Lock()
		now := s.clock.Now()
		hook := s.syncHook
		if now.Sub(s.lastSync) >= s.cfg.SyncEvery {
			s.syncLocked(now)
		} else {
			hook = nil
		}
		s.mu.Unlock()
		if hook != nil {
			hook()
		}
		if s.cfg.Dir != "" {
			touchNote(s.cfg.Dir, s.id, time.Now()) // a fresh note: this session runs
		}
	}
}

// frameLocked runs one 10 ms frame through the detector and the cutting.
func (s *Session) frameLocked(f []float32, now time.Time) {
	voiced, _ := s.vad.frame(f)
	s.levelLocked(f, voiced)
	start := s.fed
	s.fed += int64(len(f))
	smp := func(d time.Duration) int64 { return int64(d.Seconds() * SampleRate) }

	if s.open == nil {
		s.recent = append(s.recent, f...)
		if keep := int(smp(s.vo.PreRoll)) + 2*frameSamples; len(s.recent) > 4*keep {
			s.recent = append([]float32(nil), s.recent[len(s.recent)-keep:]...)
		}
		if !voiced {
			s.run = 0
			return
		}
		s.run++
		if s.run < 2 { // an onset needs two voiced frames running
			return
		}
		onset := start - int64(frameSamples) // the first of the two
		from := max(onset-smp(s.vo.PreRoll), s.prevEnd, s.fed-int64(len(s.recent)))
		u := &utterance{index: s.next, start: from, voiceFrom: onset, voiced: 2, voiceTo: s.fed, arrived: now}
		s.next++
		u.samples = append(make([]float32, 0, 8*SampleRate), s.recent[len(s.recent)-int(s.fed-from):]...)
		s.recent = s.recent[:0]
		s.open = u
		s.partialAt = s.fed
		return
	}
	u := s.open
	u.samples = append(u.samples, f...)
	if voiced {
		u.voiced++
		u.voiceTo = s.fed
		u.arrived = now
	}
	switch {
	case s.fed-u.voiceTo >= smp(s.vo.Pause):
		s.closeOpenLocked(now)
	case len(u.samples) >= s.window+1600:
		s.splitLocked(now)
	case s.fed-s.partialAt >= smp(s.cfg.PartialEvery):
		s.partialAt = s.fed
		s.partialLocked(u, now)
	}
}

func (s *Session) levelLocked(f []float32, voiced bool) {
	l := &s.level
	for _, v := range f {
		a := math.Abs(float64(v))
		l.sum += a * a
		l.peak = math.Max(l.peak, a)
	}
	l.n += len(f)
	s.voiceNow = s.voiceNow || voiced
	if l.n >= int(s.cfg.LevelEvery.Seconds()*SampleRate) {
		at := float64(s.fed+int64(len(f))) / SampleRate
		s.events.push(Event{Type: EventLevel, Start: at - float64(l.n)/SampleRate, End: at,
			Level: round2(dbfs(l.sum / float64(l.n))), Peak: round2(dbfs(l.peak * l.peak)), Voice: s.voiceNow})
		l.sum, l.peak, l.n, s.voiceNow = 0, 0, 0, false
	}
}

// closeOpenLocked ends the open utterance at its last voice plus the
// tail and queues its final; what follows is pre-roll for the next one.
func (s *Session) closeOpenLocked(now time.Time) {
	u := s.open
	s.open = nil
	s.run = 0
	end := min(u.voiceTo+int64(s.vo.Tail.Seconds()*SampleRate), u.end())
	rest := u.samples[end-u.start:]
	u.samples = u.samples[: end-u.start : end-u.start]
	s.recent = append(s.recent[:0], rest...)
	s.prevEnd = end
	u.closedAt = now
	if s.partial != nil { // the final supersedes it
		s.partial()
		s.partial = nil
	}
	if time.Duration(float64(u.voiced*frameSamples)/SampleRate*float64(time.Second)) < s.vo.MinVoice {
		return // a click, not an utterance
	}
	s.queueLocked(u)
}

// splitLocked cuts an utterance that outgrew the chunk length at its best
// pause (backend/audio's chunker decides where) and queues the first part.
func (s *Session) splitLocked(now time.Time) {
	u := s.open
	c, err := audio.NewChunker(&sliceStream{x: u.samples}, audio.ChunkOptions{
		MaxSeconds: s.cfg.ChunkSeconds, SearchSeconds: math.Min(10, s.cfg.ChunkSeconds/2)}).Next()
	if err != nil || len(c.Samples) == 0 || len(c.Samples) >= len(u.samples) {
		c.Samples = u.samples[:s.window]
	}
	cut := int64(len(c.Samples))
	first := &utterance{index: u.index, start: u.start, samples: u.samples[:cut:cut], voiceFrom: u.voiceFrom,
		voiceTo: min(u.voiceTo, u.start+cut), voiced: u.voiced, arrived: now, closedAt: now, split: true}
	if s.partial != nil {
		s.partial()
		s.partial = nil
	}
	s.queueLocked(first)
	rest := &utterance{index: s.next, start: u.start + cut, voiceFrom: u.start + cut, voiceTo: max(u.voiceTo, u.start+cut),
		voiced: u.voiced, arrived: u.arrived}
	s.next++
	rest.samples = append(make([]float32, 0, max(8*SampleRate, len(u.samples)-int(cut))), u.samples[cut:]...)
	s.open = rest
	s.partialAt = s.fed
}

func (s *Session) queueLocked(u *utterance) {
	s.finals = append(s.finals, u)
	s.stats.Utterances++
	s.spillLocked()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// maxQueuedSamples bounds the audio that finals waiting for the server
// keep in memory (two minutes); beyond it the oldest waiting ones drop
// theirs and read it back from the audio file when they are sent, so an
// outage of hours costs no memory.
const maxQueuedSamples = 120 * SampleRate

// spillLocked drops the samples of waiting finals (not the one being
// sent) while more than maxQueuedSamples wait.
func (s *Session) spillLocked() {
	if s.wav == nil || s.wavErr != nil {
		return
	}
	total := 0
	for _, u := range s.finals {
		total += len(u.samples)
	}
	for i, u := range s.finals {
		if total <= s.maxQueued {
			return
		}
		if (i == 0 && s.sending) || u.spilled {
			continue
		}
		total -= len(u.samples)
		u.n, u.samples, u.spilled = len(u.samples), nil, true
		s.stats.Spilled++
	}
}

// reload reads a spilled final's audio back from the file.
func (s *Session) reload(u *utterance) error {
	buf := make([]byte, 2*u.n)
	if _, err := s.wav.f.ReadAt(buf, wavHeaderSize+2*u.start); err != nil {
		return apperr.New(apperr.CodeFile, err, "cannot read the utterance at %s back from the recording: %v", clock(float64(u.start)/SampleRate), err)
	}
	x := make([]float32, u.n)
	for i := range x {
		x[i] = float32(int16(binary.LittleEndian.Uint16(buf[2*i:]))) / 32768
	}
	s.mu.Lock()
	u.samples, u.spilled = x, false
	s.mu.Unlock()
	return nil
}

// partialLocked sends the open utterance for a partial, unless one is in
// flight or finals wait: those come first.
func (s *Session) partialLocked(u *utterance, now time.Time) {
	if s.partialOn || len(s.finals) > 0 || s.closing {
		s.stats.PartialsSkipped++
		return
	}
	if time.Duration(float64(u.voiced*frameSamples)/SampleRate*float64(time.Second)) < s.vo.MinVoice || u.voiceTo == u.partialVoice {
		return // too little voice yet, or none since the last partial: nothing new to hear
	}
	u.partialVoice = u.voiceTo
	samples := u.samples // append only: the part sent is never written again
	if len(samples) > s.window {
		samples = samples[len(samples)-s.window:]
	}
	offset := u.end() - int64(len(samples))
	ctx, cancel := context.WithCancel(s.ctx)
	s.partial, s.partialOn = cancel, true
	s.stats.PartialsSent++
	s.workers.Add(1)
	done := s.partialDone
	go func() {
		defer s.workers.Done()
		if done != nil {
			defer done()
		}
		r, err := s.cfg.Recognizer.Recognize(ctx, PartialID(u.index), samples, s.cfg.Options)
		s.mu.Lock()
		defer s.mu.Unlock()
		superseded := ctx.Err() != nil
		s.partial, s.partialOn = nil, false
		cancel()
		if err != nil || superseded || s.open != u {
			return // a partial that failed or was superseded says nothing
		}
		ev := s.resultEvent(EventPartial, u, offset, len(samples), r)
		ev.LatencyMs, ev.HeardAt = ms(s.clock.Now().Sub(now)), now
		s.stats.Partials++
		s.events.push(ev)
	}()
}

// resultEvent places a result of samples[offset:offset+n] in the session.
func (s *Session) resultEvent(t EventType, u *utterance, offset int64, n int, r transcript.ChunkResult) Event {
	base := float64(offset) / SampleRate
	ev := Event{Type: t, Utterance: u.index, Text: r.Text, Words: make([]transcript.Word, 0, len(r.Words))}
	for _, w := range r.Words {
		ev.Words = append(ev.Words, transcript.Word{Word: w.Word, Start: round3(base + w.Start), End: round3(base + w.End)})
	}
	if len(ev.Words) > 0 {
		ev.Start, ev.End = ev.Words[0].Start, ev.Words[len(ev.Words)-1].End
	} else {
		ev.Start = round3(float64(max(u.voiceFrom, offset)) / SampleRate)
		ev.End = round3(math.Min(float64(u.voiceTo)/SampleRate, base+float64(n)/SampleRate))
	}
	return ev
}

// sendFinals sends the queued finals in order, one at a time, storing
// each before it is told.
func (s *Session) sendFinals() {
	defer s.workers.Done()
	defer close(s.sender)
	for {
		s.mu.Lock()
		for len(s.finals) == 0 {
			if s.closing || s.ctx.Err() != nil {
				s.mu.Unlock()
				return
			}
			s.mu.Unlock()
			select {
			case <-s.wake:
			case <-s.ctx.Done():
			}
			s.mu.Lock()
		}
		u := s.finals[0]
		s.sending = true
		spilled := u.spilled
		s.mu.Unlock()

		var r transcript.ChunkResult
		var err error
		if spilled {
			err = s.reload(u)
		}
		if err == nil {
			r, err = s.recognizeFinal(u)
		}

		s.mu.Lock()
		s.finals = s.finals[1:]
		s.sending = false
		span := Span{Start: float64(u.start) / SampleRate, End: float64(u.end()) / SampleRate}
		if err != nil {
			s.failed = append(s.failed, span)
			s.stats.Failed++
			if s.ctx.Err() == nil {
				s.events.push(Event{Type: EventStatus, Status: StatusFailed, Utterance: u.index, Start: span.Start, End: span.End,
					Pending: len(s.finals), Message: fmt.Sprintf("gave up on the utterance at %s: %s; its audio is kept in the recording", clock(span.Start), apperr.Message(err))})
			}
			s.mu.Unlock()
			continue
		}
		s.mu.Unlock()
		if s.cfg.Store != nil {
			err := s.cfg.Store.PutChunk(context.Background(), store.Chunk{Plan: s.plan, Index: u.index, Offset: u.start,
				Samples: int64(len(u.samples)), AudioHash: audioHash(u.samples), Result: r})
			if err != nil {
				s.events.push(Event{Type: EventStatus, Status: StatusStorage, Utterance: u.index,
					Message: fmt.Sprintf("cannot store the utterance at %s in the database: %v; it stays in memory until the session ends", clock(span.Start), err)})
			}
		}
		s.mu.Lock()
		s.pieces[u.index] = transcript.Piece{Offset: span.Start, Duration: span.End - span.Start, Result: r}
		ev := s.resultEvent(EventFinal, u, u.start, len(u.samples), r)
		ev.Split = u.split
		now := s.clock.Now()
		ev.LatencyMs, ev.HeardAt = ms(now.Sub(u.arrived)), u.arrived
		if !u.split {
			ev.PauseMs = ms(u.closedAt.Sub(u.arrived))
		}
		s.stats.Finals++
		s.events.push(ev)
		s.mu.Unlock()
	}
}

// recognizeFinal sends u until it is heard, the policy gives up, the
// error is one that retrying cannot mend, or the session is aborted.
func (s *Session) recognizeFinal(u *utterance) (transcript.ChunkResult, error) {
	delay := s.retry.Delay
	for attempt := 1; ; attempt++ {
		r, err := s.cfg.Recognizer.Recognize(s.ctx, u.index, u.samples, s.cfg.Options)
		if err == nil {
			s.mu.Lock()
			if s.offline {
				s.offline = false
				s.events.push(Event{Type: EventStatus, Status: StatusOnline, Pending: len(s.finals) - 1,
					Message: "the server answers again: sending the utterances that waited"})
			}
			s.mu.Unlock()
			return r, nil
		}
		if s.ctx.Err() != nil {
			return r, s.ctx.Err()
		}
		if permanent(err) || attempt >= s.retry.Attempts {
			return r, err
		}
		s.mu.Lock()
		s.offline = true
		s.stats.Retries++
		s.events.push(Event{Type: EventStatus, Status: StatusOffline, Utterance: u.index, Pending: len(s.finals),
			Message: fmt.Sprintf("%s; recording goes on, %d utterance(s) wait, trying again in %s", apperr.Message(err), len(s.finals), delay.Round(100*time.Millisecond))})
		s.mu.Unlock()
		select {
		case <-s.clock.After(delay):
		case <-s.ctx.Done():
			return r, s.ctx.Err()
		}
		delay = min(2*delay, s.retry.MaxDelay)
	}
}

// permanent errors are the request's or the model's: sending the same
// audio again gives the same answer.
func permanent(err error) bool {
	switch apperr.CodeOf(err) {
	case apperr.CodeContract, apperr.CodeBadInput, apperr.CodeTooLarge, apperr.CodeSettings, apperr.CodeTLS, apperr.CodeUnknownModel:
		return true
	}
	return false
}

// Flush ends the open utterance now, as a pause would: for the app's
// Pause, so what was said before it becomes final at once. Audio fed
// after it continues the session's timeline.
func (s *Session) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open != nil && !s.closing {
		s.closeOpenLocked(s.clock.Now())
	}
}

// Close ends the session: the open utterance becomes the last final, the
// finals still waiting are sent while ctx lasts, the audio file gets its
// real header, and the session becomes a history entry. When ctx ends
// first, what was not heard is listed in Result.Untranscribed.
func (s *Session) Close(ctx context.Context) (Result, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Result{}, ErrClosed
	}
	s.closed = true
	now := s.clock.Now()
	if len(s.frame) > 0 { // the last part of a frame: heard as it is
		if u := s.open; u != nil {
			u.samples = append(u.samples, s.frame...)
		}
		s.fed += int64(len(s.frame))
		s.frame = s.frame[:0]
	}
	if s.open != nil {
		s.open.voiceTo = min(s.open.voiceTo, s.open.end())
		s.closeOpenLocked(now)
	}
	s.closing = true
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.mu.Unlock()

	select {
	case <-s.sender:
	case <-ctx.Done():
	}
	s.cancel() // aborts the final in flight, if ctx ended, and any partial
	s.workers.Wait()

	s.mu.Lock()
	defer s.mu.Unlock()
	res := Result{ID: s.id, AudioPath: s.AudioPath()}
	for _, u := range s.finals { // never sent: ctx ended
		s.failed = append(s.failed, Span{Start: float64(u.start) / SampleRate, End: float64(u.end()) / SampleRate})
	}
	s.finals = nil
	res.Untranscribed = s.failed
	var errs []error
	if s.wav != nil {
		if s.wavErr != nil {
			errs = append(errs, fmt.Errorf("writing the audio: %w", s.wavErr))
			s.wav.f.Close()
		} else if err := s.wav.finish(); err != nil {
			errs = append(errs, fmt.Errorf("finishing the audio file: %w", err))
		}
	}
	res.Transcript = s.transcriptLocked()
	if res.AudioPath != "" {
		if sum, err := fileSHA256(res.AudioPath); err == nil {
			res.Transcript.SHA256 = sum
		}
	}
	if len(res.Untranscribed) > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf("%d utterance(s) were not transcribed (the server did not answer in time); their audio is in %s", len(res.Untranscribed), orNone(res.AudioPath)))
	}
	if s.cfg.Store != nil {
		id, err := s.cfg.Store.PutTranscript(context.WithoutCancel(ctx), s.entry(res.Transcript), res.Transcript)
		if err != nil {
			errs = append(errs, fmt.Errorf("saving the session in the history: %w", err))
		}
		res.HistoryID = id
	}
	if s.cfg.Dir != "" && len(errs) == 0 {
		removeNote(s.cfg.Dir, s.id)
	}
	s.events.close()
	if len(errs) > 0 {
		err := errors.Join(errs...)
		return res, apperr.New(apperr.CodeFile, err, "the live session %s did not close cleanly: %v (the note in %s lets Recover finish it)", s.id, err, s.cfg.Dir)
	}
	return res, nil
}

// Abandon stops the session as a crash would: nothing more is sent,
// synced or stored, and the audio file keeps its recording header. For
// tests of Recover.
func (s *Session) Abandon() {
	s.mu.Lock()
	s.closing, s.closed = true, true
	s.mu.Unlock()
	s.cancel()
	s.workers.Wait()
	s.mu.Lock()
	if s.wav != nil {
		s.wav.f.Close()
	}
	s.mu.Unlock()
	s.events.close()
}

func (s *Session) transcriptLocked() transcript.Transcript {
	pieces := make([]transcript.Piece, 0, len(s.pieces))
	for i := range s.next {
		if p, ok := s.pieces[i]; ok {
			pieces = append(pieces, p)
		}
	}
	return buildTranscript(pieces, s.sourceName(), float64(s.fed)/SampleRate, s.cfg.Model)
}

func (s *Session) sourceName() string {
	if p := s.AudioPath(); p != "" {
		return p
	}
	return s.plan
}

func (s *Session) entry(t transcript.Transcript) store.Entry {
	return store.Entry{Plan: s.plan, Source: t.Source, SHA256: t.SHA256, Server: s.cfg.Server, Model: s.cfg.Model,
		ModelVersion: s.cfg.ModelVersion, Options: []byte(`{"live":true}`), Duration: t.Duration}
}

func buildTranscript(pieces []transcript.Piece, source string, duration float64, model string) transcript.Transcript {
	segs := transcript.Stitch(pieces)
	if segs == nil {
		segs = []transcript.Segment{}
	}
	return transcript.Transcript{Source: source, Duration: duration, Model: model, Text: transcript.FullText(segs), Segments: segs}
}

type sliceStream struct{ x []float32 }

func (s *sliceStream) Read(p []float32) (int, error) {
	if len(s.x) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.x)
	s.x = s.x[n:]
	return n, nil
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)) / 1000 }

func round2(v float64) float64 { return math.Round(v*100) / 100 }
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func clock(sec float64) string {
	d := time.Duration(sec * float64(time.Second)).Round(100 * time.Millisecond)
	return fmt.Sprintf("%d:%02d:%04.1f", int(d.Hours()), int(d.Minutes())%60, math.Mod(d.Seconds(), 60))
}

func orNone(p string) string {
	if p == "" {
		return "no file (the session had no folder)"
	}
	return p
}
