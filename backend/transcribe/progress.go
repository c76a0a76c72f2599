package transcribe

import (
	"math"
	"sync"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
)

// Fractions of a job's progress bar given to each stage: copying is quick,
// exporting quicker; transcribing is nearly all of it.
const (
	fracStaged      = 0.05
	fracTranscribed = 0.95
)

// reporter turns what happens to one job into Progress values: fraction,
// chunks, speed and time left. Chunks finish concurrently, so it locks.
type reporter struct {
	mu   sync.Mutex
	emit func(Progress)
	now  func() time.Time
	p    Progress

	chunkSeconds float64
	cut          int     // chunks cut so far
	cutSeconds   float64 // their audio
	allCut       bool    // the chunker has reached the end
	sendStart    time.Time
	sentSeconds  float64 // audio answered by the server in this run
	// With diarization, half of the transcribing stretch is the speakers'
	// embeddings (embedSeconds of audio done), unless the speech is known
	// already and a chunk is done once embedded (speakersOnly).
	diarize      bool
	onlySpeakers bool
	embedSeconds float64
	stageChanged func(Stage)
}

func newReporter(id JobID, path string, chunkSeconds float64, emit func(Progress)) *reporter {
	if emit == nil {
		emit = func(Progress) {}
	}
	return &reporter{emit: emit, now: time.Now, chunkSeconds: chunkSeconds,
		p: Progress{JobID: id, Path: path, Stage: StageQueued, ETASeconds: -1}}
}

// send emits the current state; the caller holds r.mu.
func (r *reporter) send() {
	r.emit(r.p)
	r.p.Note = ""
}

func (r *reporter) advance(frac float64) {
	r.p.Fraction = math.Max(r.p.Fraction, math.Min(frac, 1))
}

// stage moves to s (never back) and reports it.
func (r *reporter) stage(s Stage, frac float64) {
	r.mu.Lock()
	changed := r.p.Stage != s
	r.p.Stage = s
	if s == StageDone {
		r.p.ETASeconds = 0
	}
	r.advance(frac)
	r.send()
	hook := r.stageChanged
	r.mu.Unlock()
	if changed && hook != nil {
		hook(s)
	}
}

// note shows msg on the job; the Text's catalog key lets the UI word it
// in its language.
func (r *reporter) note(msg apperr.Text) {
	r.mu.Lock()
	defer r.mu.Unlock()
	msg.Text = oneLine(msg.Text)
	r.p.Note, r.p.NoteText = msg.Text, &msg
	r.send()
}

func (r *reporter) staging(done, total int64) {
	if total <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.advance(fracStaged * float64(done) / float64(total))
	r.send()
}

// duration records the file's length once the decoder knows it.
func (r *reporter) duration(sec float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sec > 0 {
		r.p.AudioSeconds = sec
		r.p.ChunksTotal = max(r.p.ChunksTotal, int(math.Ceil(sec/r.chunkSeconds)))
	}
}

// chunkCut counts a chunk of sec seconds the chunker produced. Chunks are
// cut at quiet places, often before the longest length, so the estimate of
// the total follows the mean length of those cut so far.
func (r *reporter) chunkCut(sec float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cut++
	r.cutSeconds += sec
	estimate := r.cut
	if left := r.p.AudioSeconds - r.cutSeconds; left > 0.01 {
		estimate += int(math.Ceil(left / (r.cutSeconds / float64(r.cut))))
	}
	r.p.ChunksTotal = max(estimate, r.p.ChunksDone)
}

// cuttingDone says the chunk count is now exact.
func (r *reporter) cuttingDone(audioSeconds float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.allCut = true
	r.p.ChunksTotal = r.cut
	r.p.AudioSeconds = audioSeconds
	r.update()
	r.send()
}

// sending marks the moment the first chunk goes to the server; speed is
// measured from there.
func (r *reporter) sending() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sendStart.IsZero() {
		r.sendStart = r.now()
	}
}

// chunkHow is where a chunk's result came from.
type chunkHow int

const (
	fromServer chunkHow = iota
	fromStore
	silent         // nothing to hear: not sent
	fromTranscript // the words of a stored transcript, embedded for its speakers
)

// chunkDone counts a finished chunk of sec seconds and reports.
func (r *reporter) chunkDone(sec float64, how chunkHow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.ChunksDone++
	r.p.DoneSeconds += sec
	switch how {
	case fromServer:
		r.sentSeconds += sec
	case fromStore:
		r.p.ChunksReused++
	}
	r.update()
	r.send()
}

// update recomputes fraction, speed and time left; the caller holds r.mu.
func (r *reporter) update() {
	total := r.p.AudioSeconds
	var part float64
	switch {
	case total > 0:
		part = r.p.DoneSeconds / total
	case r.p.ChunksTotal > 0:
		part = float64(r.p.ChunksDone) / float64(r.p.ChunksTotal)
	}
	if r.diarize && !r.onlySpeakers {
		var emb float64
		if total > 0 {
			emb = math.Min(r.embedSeconds/total, 1)
		}
		part = (part + emb) / 2
	}
	if !r.allCut {
		part = math.Min(part, 0.999) // the length is an estimate until the end
	}
	r.advance(fracStaged + (fracTranscribed-fracStaged)*part)

	if !r.sendStart.IsZero() && r.sentSeconds > 0 {
		if wall := r.now().Sub(r.sendStart).Seconds(); wall > 0 {
			r.p.RealtimeFactor = r.sentSeconds / wall
		}
	}
	r.p.ETASeconds = -1
	if r.p.RealtimeFactor > 0 && total > 0 {
		r.p.ETASeconds = math.Max(total-r.p.DoneSeconds, 0) / r.p.RealtimeFactor
	}
}

// diarizing says the job's chunks are embedded as well as transcribed.
func (r *reporter) diarizing() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.diarize = true
}

// speakersOnly says the speech is known: chunks are done once embedded.
func (r *reporter) speakersOnly() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onlySpeakers = true
}

// embedded counts a chunk of sec seconds whose speakers are asked for
// (or that has none to ask for).
func (r *reporter) embedded(sec float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.embedSeconds += sec
	if r.diarize && !r.onlySpeakers {
		r.update()
		r.send()
	}
}

// reused reports a whole result taken from the history.
func (r *reporter) reused(audioSeconds float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.Reused = true
	r.p.AudioSeconds = audioSeconds
	r.p.DoneSeconds = audioSeconds
	r.p.ETASeconds = 0
}

func (r *reporter) snapshot() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.p
}
