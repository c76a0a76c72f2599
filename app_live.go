package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/live"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
)

// EventLive carries one LiveEvent of the running session: a partial or
// final result, the input level, or a notice (server away or back).
const EventLive = "live:event"

// Live session timings.
const (
	// liveOpenWait bounds Record's wait for the model (it may be loading).
	liveOpenWait = 30 * time.Second
	// liveDrain is how long Stop keeps sending the utterances the server
	// has not answered yet before it saves what it has.
	liveDrain = 30 * time.Second
	// liveShutdownDrain is the same when the window closes mid-session;
	// what is left is finished by Recover at the next start.
	liveShutdownDrain = 5 * time.Second
	// liveLevelEvery: the session measures the level every 50 ms of
	// audio; the meter needs half as many events.
	liveLevelEvery = 0.1
)

// liveOpener opens a model for a live session; *transcribe.Engine is one.
type liveOpener interface {
	Recognizer(ctx context.Context, addr, model string, onWait func(time.Duration, string)) (transcribe.LiveModel, error)
}

// liveSession is what the app needs of a running *live.Session.
type liveSession interface {
	ID() string
	FeedPCM16(b []byte) error
	Flush()
	Close(ctx context.Context) (live.Result, error)
}

// liveService runs the app's one live session at a time and keeps what
// Recover found at start for the UI to hear once.
type liveService struct {
	opener liveOpener
	store  live.Store // nil: nothing persisted
	dir    string     // the data folder's "live"; "" writes no audio

	mu        sync.Mutex
	current   liveSession
	paused    bool
	lastLevel float64 // audio time of the last level event forwarded
	recovered []LiveRecovered
}

func newLiveService(opener liveOpener, st live.Store, dir string) *liveService {
	return &liveService{opener: opener, store: st, dir: dir}
}

// LiveInfo describes a session just started.
type LiveInfo struct {
	ID     string `json:"id"`
	Server string `json:"server"`
	Model  string `json:"model"`
	// SampleRate is the rate LiveFeed takes (16 kHz, mono, PCM16).
	SampleRate int `json:"sampleRate"`
}

// LiveEvent is one live.Event with the session it belongs to.
type LiveEvent struct {
	Session string `json:"session"`
	live.Event
}

// LiveStopped is what became of a session Stop ended.
type LiveStopped struct {
	ID        string  `json:"id"`
	HistoryID int64   `json:"historyId"`
	AudioPath string  `json:"audioPath"`
	Duration  float64 `json:"duration"`
	// Untranscribed counts the utterances the server never answered;
	// their audio is in the recording.
	Untranscribed int      `json:"untranscribed"`
	Warnings      []string `json:"warnings"`
}

// LiveRecovered is a session a crash interrupted that became a history
// entry at this start.
type LiveRecovered struct {
	ID        string   `json:"id"`
	HistoryID int64    `json:"historyId"`
	Warnings  []string `json:"warnings"`
}

var (
	errNoLive      = errors.New("live transcription is not available: the app has no engine for it")
	errLiveRunning = errors.New("a live session is already recording: stop it first")
)

func (a *App) liveSvc() (*liveService, error) {
	if a.live == nil {
		return nil, errNoLive
	}
	return a.live, nil
}

// LiveStart starts a live session on the saved server and model (the
// microphone is the page's: it sends the frames with LiveFeed). Only one
// session records at a time.
func (a *App) LiveStart() (LiveInfo, error) {
	l, err := a.liveSvc()
	if err != nil {
		return LiveInfo{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.current != nil {
		return LiveInfo{}, errLiveRunning
	}
	s := a.settings.Get()
	req := jobRequest(s, "")
	base, emit := a.runtimeSeams()
	ctx, cancel := context.WithTimeout(base, liveOpenWait)
	defer cancel()
	m, err := l.opener.Recognizer(ctx, req.Server, req.Model, nil)
	if err != nil {
		return LiveInfo{}, fmt.Errorf("starting the live session on %s: %w", req.Server, err)
	}
	chunk := req.ChunkSeconds
	if !(chunk > 0) {
		chunk = transcribe.DefaultChunkSeconds
	}
	var id string
	l.paused, l.lastLevel = false, -1
	sess, err := live.New(live.Config{
		Recognizer: m.Recognizer,
		Options: inference.Options{Timestamps: req.Timestamps, SourceLang: req.SourceLang, TargetLang: req.TargetLang,
			Task: req.Task, PNC: req.PNC},
		Store: l.store, Dir: l.dir, Server: req.Server, Model: m.Name, ModelVersion: m.Version, ChunkSeconds: chunk,
		Emit: func(ev live.Event) {
			if l.forward(ev) {
				emit(EventLive, LiveEvent{Session: id, Event: ev})
			}
		},
	})
	if err != nil {
		return LiveInfo{}, err
	}
	id = sess.ID() // set before any frame is fed, so before any event
	l.current = sess
	return LiveInfo{ID: id, Server: req.Server, Model: m.Name, SampleRate: live.SampleRate}, nil
}

// forward says whether ev goes to the UI: level events are thinned to
// one per liveLevelEvery seconds of audio.
func (l *liveService) forward(ev live.Event) bool {
	if ev.Type != live.EventLevel {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lastLevel >= 0 && ev.End-l.lastLevel < liveLevelEvery-1e-6 {
		return false
	}
	l.lastLevel = ev.End
	return true
}

// session returns the running session if its id is id.
func (l *liveService) session(id string) (liveSession, error) {
	if l.current == nil || l.current.ID() != id {
		return nil, fmt.Errorf("the live session %q is not recording (it was stopped, or the app restarted)", id)
	}
	return l.current, nil
}

// LiveFeed takes the next frames of session id: 16 kHz mono 16-bit
// little-endian PCM (base64 from the page). Frames that arrive while the
// session is paused are dropped.
func (a *App) LiveFeed(id string, pcm []byte) error {
	l, err := a.liveSvc()
	if err != nil {
		return err
	}
	l.mu.Lock()
	s, err := l.session(id)
	paused := l.paused
	l.mu.Unlock()
	if err != nil {
		return err
	}
	if paused {
		return nil
	}
	if err := s.FeedPCM16(pcm); err != nil && !errors.Is(err, live.ErrClosed) {
		return err
	}
	return nil
}

// LivePause pauses session id: what was said so far becomes final now;
// the recording continues where it left off on LiveResume.
func (a *App) LivePause(id string) error {
	return a.setPaused(id, true)
}

// LiveResume takes frames for session id again.
func (a *App) LiveResume(id string) error {
	return a.setPaused(id, false)
}

func (a *App) setPaused(id string, paused bool) error {
	l, err := a.liveSvc()
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s, err := l.session(id)
	if err != nil {
		return err
	}
	if paused && !l.paused {
		s.Flush()
	}
	l.paused = paused
	return nil
}

// LiveStop ends session id: the last utterance becomes final, what the
// server has not answered yet is sent for up to liveDrain, and the
// session is saved as a history entry, whose id it returns.
func (a *App) LiveStop(id string) (LiveStopped, error) {
	l, err := a.liveSvc()
	if err != nil {
		return LiveStopped{}, err
	}
	l.mu.Lock()
	s, err := l.session(id)
	if err == nil {
		l.current = nil // LiveFeed refuses from now on; Close may take a while
	}
	l.mu.Unlock()
	if err != nil {
		return LiveStopped{}, err
	}
	base, _ := a.runtimeSeams()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(base), liveDrain)
	defer cancel()
	res, err := s.Close(ctx)
	out := LiveStopped{ID: res.ID, HistoryID: res.HistoryID, AudioPath: res.AudioPath, Duration: res.Transcript.Duration,
		Untranscribed: len(res.Untranscribed), Warnings: sentences(res.Warnings)}
	if err != nil && res.HistoryID == 0 {
		return out, err
	}
	if err != nil { // saved, but not everything went well: say so beside it
		out.Warnings = append(out.Warnings, sentence(apperr.Message(err)))
	}
	return out, nil
}

// LiveRecovered returns, once, the sessions a crash interrupted that this
// start turned into history entries, for the UI to tell the user. The
// page asks when it loads, so a session still recording then lost its
// page (a reload, a crashed web view): it is saved now and told the same
// way, rather than holding the microphone slot until the app restarts.
func (a *App) LiveRecovered() []LiveRecovered {
	l, err := a.liveSvc()
	if err != nil {
		return []LiveRecovered{}
	}
	l.mu.Lock()
	orphan := l.current
	l.current = nil
	l.mu.Unlock()
	if orphan != nil {
		ctx, cancel := context.WithTimeout(context.Background(), liveShutdownDrain)
		res, err := orphan.Close(ctx)
		cancel()
		if err != nil {
			log.Printf("saving the live session whose page went away: %v", err)
		}
		if res.HistoryID != 0 {
			l.mu.Lock()
			l.recovered = append(l.recovered, LiveRecovered{ID: res.ID, HistoryID: res.HistoryID, Warnings: sentences(res.Warnings)})
			l.mu.Unlock()
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.recovered
	l.recovered = nil
	if out == nil {
		out = []LiveRecovered{}
	}
	return out
}

// recoverLive finishes the sessions a crash interrupted (called at
// startup, before the page can ask LiveRecovered).
func (a *App) recoverLive(ctx context.Context) {
	l := a.live
	if l == nil || l.dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	results, err := live.Recover(ctx, l.dir, l.store, live.RecoverOptions{})
	if err != nil {
		log.Printf("recovering interrupted live sessions: %v", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range results {
		l.recovered = append(l.recovered, LiveRecovered{ID: r.ID, HistoryID: r.HistoryID, Warnings: sentences(r.Warnings)})
	}
}

// stopLive closes the session still recording when the window closes, so
// it becomes a history entry now rather than at the next start.
func (a *App) stopLive() {
	l := a.live
	if l == nil {
		return
	}
	l.mu.Lock()
	s := l.current
	l.current = nil
	l.mu.Unlock()
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), liveShutdownDrain)
	defer cancel()
	if _, err := s.Close(ctx); err != nil {
		log.Printf("closing the live session at shutdown: %v", err)
	}
}

func sentences(msgs []string) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		if strings.TrimSpace(m) != "" {
			out = append(out, sentence(m))
		}
	}
	return out
}

// liveDir is where the app's live recordings go.
func liveDir(dataDir string) string { return filepath.Join(dataDir, "live") }
