package transcribe

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/diarize"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/speakers"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
	"github.com/nemo-transcribe/nemo-transcribe/models"
)

// speakerVersion changes when the spans asked for, or what is stored
// about them, change: embeddings stored by an older build are then not
// reused.
const speakerVersion = 1

// SpanMode says which stretches of a chunk are embedded.
type SpanMode string

const (
	// SpansWords embeds each word the model heard (its span widened to the
	// speaker model's shortest span), and windows over a segment without
	// word times. A word is then one voice, even in turns of one word:
	// windows mix the voices of neighbouring words. The default.
	SpansWords SpanMode = "words"
	// SpansWindows embeds windowSeconds windows every hopSeconds over the
	// chunk, as NeMo's clustering diarizer does, whatever was heard.
	SpansWindows SpanMode = "windows"
)

// The windows of SpansWindows, and of segments without word times.
const (
	windowSeconds = 1.5
	hopSeconds    = 0.75
)

// Embedder turns spans of a chunk into speaker embeddings:
// *inference.SpeakerModel, and *liveSpeaker, which jobs use, over it.
type Embedder interface {
	Embed(ctx context.Context, id int, samples []float32, spans [][2]int64, opts inference.Options) ([][]float32, error)
}

// openSpeaker is a speaker model checked against the contract.
type openSpeaker struct {
	Embedder
	name, version string
	params        models.SpeakerParameters
}

// speakerModel finds (name "" = the server's speaker model) and checks a
// speaker-embedding model on addr. A server without one fails here, before
// any audio is sent.
func (e *Engine) speakerModel(ctx context.Context, addr, name string) (*openSpeaker, error) {
	c, err := e.lease(addr)
	if err != nil {
		return nil, err
	}
	defer e.unlease(c)
	if name == "" {
		if name, err = c.srv.FindSpeakerModel(ctx); err != nil {
			return nil, err
		}
	}
	m, err := c.srv.OpenSpeakerModel(ctx, name, inference.WaitOptions{Timeout: e.ModelWait})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if _, ok := c.speakers[name]; !ok {
		c.speakers[name] = m
	}
	e.mu.Unlock()
	return &openSpeaker{Embedder: &liveSpeaker{e: e, addr: addr, name: name}, name: m.Name, version: m.Version, params: m.Params}, nil
}

// SpeakerModel names the speaker-embedding model diarization would use on
// addr (name "" = the one the server lists) after checking it, or fails
// with the sentence a job would fail with.
func (e *Engine) SpeakerModel(ctx context.Context, addr, name string) (string, error) {
	m, err := e.speakerModel(ctx, addr, name)
	if err != nil {
		return "", err
	}
	return m.name, nil
}

// liveSpeaker is a speaker model as a job sees it: like liveModel, every
// request leases the server's current connection.
type liveSpeaker struct {
	e          *Engine
	addr, name string
}

func (l *liveSpeaker) Embed(ctx context.Context, id int, samples []float32, spans [][2]int64, opts inference.Options) ([][]float32, error) {
	for resent := 0; ; resent++ {
		c, err := l.e.lease(l.addr)
		if err != nil {
			return nil, err
		}
		var out [][]float32
		callCtx, stop := context.WithCancel(ctx)
		unhook := context.AfterFunc(c.drain, stop)
		m, err := l.e.speakerOn(callCtx, c, l.name)
		if err == nil {
			out, err = m.Embed(callCtx, id, samples, spans, opts)
		}
		unhook()
		stop()
		retired := l.e.unlease(c)
		if err == nil || ctx.Err() != nil || !retired {
			return out, err
		}
		if resent == maxResends {
			return nil, apperr.New(apperr.CodeUnreachable, err, "the connection settings changed %d times while the speakers of chunk %d were asked for: try again", maxResends+1, id+1)
		}
	}
}

// speakerOn is the speaker model name as checked on c, checked there on
// first use.
func (e *Engine) speakerOn(ctx context.Context, c *conn, name string) (*inference.SpeakerModel, error) {
	e.mu.Lock()
	m, ok := c.speakers[name]
	e.mu.Unlock()
	if ok {
		return m, nil
	}
	m, err := c.srv.OpenSpeakerModel(ctx, name, inference.WaitOptions{Timeout: e.ModelWait})
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if old, ok := c.speakers[name]; ok {
		m = old
	} else {
		c.speakers[name] = m
	}
	e.mu.Unlock()
	return m, nil
}

// checkSpeakerOptions refuses counts that make no sense, in the user's
// terms.
func checkSpeakerOptions(o SpeakerOptions) error {
	switch {
	case o.Count < 0 || o.Min < 0 || o.Max < 0:
		return apperr.New(apperr.CodeBadInput, nil, "speaker counts must not be negative")
	case o.Count > 0 && (o.Min > 0 || o.Max > 0):
		return apperr.New(apperr.CodeBadInput, nil, "give either an exact number of speakers or a minimum and maximum, not both")
	case o.Max > 0 && o.Min > o.Max:
		return apperr.New(apperr.CodeBadInput, nil, "at least %d speakers but at most %d: the minimum must not be above the maximum", o.Min, o.Max)
	}
	return nil
}

func clusterOptions(o SpeakerOptions) diarize.Options {
	return diarize.Options{Speakers: o.Count, MinSpeakers: o.Min, MaxSpeakers: o.Max}
}

// speakerPlanKey names one file's embeddings: the same content, decoded
// and cut the same way, embedded by the same speaker model version on the
// same server. The spans are stored with the vectors, so the ASR model
// that chose them is not part of it.
func speakerPlanKey(sha, server, model, version string, dec decodeOptions, plan chunkPlan, mode SpanMode) string {
	data, _ := json.Marshal(struct {
		V       int           `json:"v"`
		SHA256  string        `json:"sha256"`
		Server  string        `json:"server"`
		Model   string        `json:"model"`
		Version string        `json:"version"`
		Decode  decodeOptions `json:"decode"`
		Plan    chunkPlan     `json:"plan"`
		Mode    SpanMode      `json:"mode"`
	}{speakerVersion, sha, normalizeServer(server), model, version, dec, plan, mode})
	sum := sha256.Sum256(data)
	return "spk-" + hex.EncodeToString(sum[:])
}

// audioRecord is how a transcript's samples were decoded and cut, kept
// with its history entry (store.Entry.Audio) for diarizing it later.
type audioRecord struct {
	Decode       decodeOptions `json:"decode"`
	ChunkSeconds float64       `json:"chunkSeconds,omitempty"`
}

// speakerJob is one job's diarization: the model, its stored embeddings,
// and the embeddings found so far, by chunk. Chunks finish concurrently,
// so it locks.
type speakerJob struct {
	model  *openSpeaker
	opts   SpeakerOptions
	mode   SpanMode
	plan   string
	stored map[int]store.Embeddings

	mu   sync.Mutex
	embs map[int][]diarize.Embedding // by chunk index
	err  error                       // the first failure: diarization is off for the rest
}

func (s *speakerJob) failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err != nil
}

func (s *speakerJob) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

// spans lists what to embed of a chunk of n samples given what the model
// heard in it (chunk-relative times).
func (s *speakerJob) spans(r transcript.ChunkResult, n int64) [][2]int64 {
	minLen := s.model.params.MinSpanSamples(audio.SampleRate)
	win := int64(windowSeconds * audio.SampleRate)
	hop := int64(hopSeconds * audio.SampleRate)
	var out [][2]int64
	if s.mode == SpansWindows {
		return windows(0, n, n, win, hop, minLen)
	}
	words := r.Words
	for _, seg := range r.Segments {
		words = append(words, seg.Words...)
	}
	if len(words) > 0 {
		for _, w := range words {
			if sp, ok := widen(toSample(w.Start), toSample(w.End), n, minLen); ok {
				out = append(out, sp)
			}
		}
	} else {
		for _, seg := range r.Segments {
			out = append(out, windows(toSample(seg.Start), toSample(seg.End), n, win, hop, minLen)...)
		}
		if len(r.Segments) == 0 && r.Text != "" {
			out = windows(0, n, n, win, hop, minLen)
		}
	}
	slices.SortFunc(out, func(a, b [2]int64) int {
		if a[0] != b[0] {
			return int(a[0] - b[0])
		}
		return int(a[1] - b[1])
	})
	return slices.Compact(out)
}

func toSample(sec float64) int64 {
	if math.IsNaN(sec) {
		return 0
	}
	return int64(math.Round(sec * audio.SampleRate))
}

// widen makes [start, end) at least minLen samples long, growing it on
// both sides within [0, n).
func widen(start, end, n, minLen int64) ([2]int64, bool) {
	start, end = max(start, 0), min(end, n)
	if end-start < minLen {
		grow := minLen - max(end-start, 0)
		start -= grow / 2
		end = start + minLen
		if start < 0 {
			end, start = end-start, 0
		}
		if end > n {
			start, end = max(start-(end-n), 0), n
		}
	}
	return [2]int64{start, end}, end > start
}

// windows covers [from, to) with windows of win samples every hop, the
// last one ending at to; a stretch shorter than a window is one span.
func windows(from, to, n, win, hop, minLen int64) [][2]int64 {
	from, to = max(from, 0), min(to, n)
	if to <= from {
		return nil
	}
	if to-from <= win {
		sp, ok := widen(from, to, n, minLen)
		if !ok {
			return nil
		}
		return [][2]int64{sp}
	}
	var out [][2]int64
	for s := from; ; s += hop {
		if s+win >= to {
			out = append(out, [2]int64{to - win, to})
			return out
		}
		out = append(out, [2]int64{s, s + win})
	}
}

// embedChunk returns the embeddings of spans of chunk c: those stored for
// the same audio are reused, the rest sent through the pool's speaker
// places (older jobs first) and stored. It reports whether any were sent.
func (j *job) embedChunk(ctx context.Context, p *pool, own *prioSem, c audio.Chunk, hash string, spans [][2]int64, opts inference.Options) ([][]float32, bool, error) {
	s := j.spk
	have := map[[2]int64][]float32{}
	if st, ok := s.stored[c.Index]; ok && st.Offset == c.Offset && st.Samples == int64(len(c.Samples)) && st.AudioHash == hash {
		for k, sp := range st.Spans {
			have[sp] = st.Vectors[k]
		}
	}
	var missing [][2]int64
	for _, sp := range spans {
		if _, ok := have[sp]; !ok {
			missing = append(missing, sp)
		}
	}
	if len(missing) > 0 {
		if own != nil && !own.acquire(ctx, 0) {
			return nil, false, ctx.Err()
		}
		if !p.spk.acquire(ctx, j.prio) {
			if own != nil {
				own.release()
			}
			return nil, false, ctx.Err()
		}
		opts.Limiter = p.spkLim
		clip, at := spanAudio(c.Samples, missing)
		vecs, err := s.model.Embed(ctx, c.Index, clip, at, opts)
		p.spk.release()
		if own != nil {
			own.release()
		}
		if err != nil {
			return nil, false, err
		}
		for k, sp := range missing {
			have[sp] = vecs[k]
		}
	}
	out := make([][]float32, len(spans))
	dim := 0
	for k, sp := range spans {
		out[k] = have[sp]
		dim = max(dim, len(out[k]))
	}
	if len(missing) > 0 && j.e.store != nil {
		all := make([][]float32, len(spans))
		for k, v := range out {
			if len(v) != dim { // the model changed its size: keep one size
				v = make([]float32, dim)
			}
			all[k] = v
		}
		saveCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
		err := j.e.store.PutEmbeddings(saveCtx, store.Embeddings{Plan: s.plan, Index: c.Index, Offset: c.Offset,
			Samples: int64(len(c.Samples)), AudioHash: hash, Spans: spans, Vectors: all})
		stop()
		if err != nil {
			return nil, true, storeError(err)
		}
	}
	return out, len(missing) > 0, nil
}

// spanAudio is only the audio of spans (sorted by start), their
// overlapping stretches joined, and the spans' places in it: the speaker
// model embeds each span from its own samples, so the silence and the
// stretches between words need not travel.
func spanAudio(samples []float32, spans [][2]int64) ([]float32, [][2]int64) {
	var clip []float32
	at := make([][2]int64, len(spans))
	var from, to int64 = -1, -1 // the stretch being copied, in the chunk
	var base int64              // where it starts in clip
	flush := func() {
		if to > from {
			clip = append(clip, samples[from:to]...)
		}
	}
	for i, sp := range spans {
		if sp[0] >= to { // a new stretch
			flush()
			from, to, base = sp[0], sp[1], int64(len(clip))
		} else {
			to = max(to, sp[1])
		}
		at[i] = [2]int64{base + sp[0] - from, base + sp[1] - from}
	}
	flush()
	return clip, at
}

// speakerWork embeds one chunk once its speech is known and records the
// result; a failure turns diarization off for the rest of the job without
// failing it.
func (j *job) speakerWork(ctx context.Context, p *pool, own *prioSem, c audio.Chunk, hash string, r transcript.ChunkResult, opts inference.Options) {
	s := j.spk
	sec := float64(len(c.Samples)) / audio.SampleRate
	defer j.rep.embedded(sec)
	if s.failed() || ctx.Err() != nil {
		return
	}
	spans := s.spans(r, int64(len(c.Samples)))
	if len(spans) == 0 {
		return
	}
	vecs, _, err := j.embedChunk(ctx, p, own, c, hash, spans, opts)
	if err != nil {
		if ctx.Err() == nil {
			s.fail(fmt.Errorf("chunk %d at %s: %w", c.Index+1, clock(float64(c.Offset)/audio.SampleRate), err))
		}
		return
	}
	embs := make([]diarize.Embedding, len(spans))
	for k, sp := range spans {
		embs[k] = diarize.Embedding{
			Start:  float64(c.Offset+sp[0]) / audio.SampleRate,
			End:    float64(c.Offset+sp[1]) / audio.SampleRate,
			Vector: vecs[k],
		}
	}
	s.mu.Lock()
	s.embs[c.Index] = embs
	s.mu.Unlock()
}

// embedAfter embeds a chunk whose speech is known. The chunk moves from
// the pool's places for chunks awaiting speech (released by aheadDone) to
// those awaiting embeddings, so the decoder goes on cutting chunks for
// the speech model while the speaker model catches up.
func (j *job) embedAfter(ctx context.Context, p *pool, own *prioSem, c audio.Chunk, hash string, r transcript.ChunkResult, opts inference.Options, aheadDone func()) {
	if !p.spkAhead.acquire(ctx, j.prio) {
		j.rep.embedded(float64(len(c.Samples)) / audio.SampleRate)
		return
	}
	aheadDone()
	j.speakerWork(ctx, p, own, c, hash, r, opts)
	p.spkAhead.release()
}

// cluster finds the speakers across the whole file from every chunk's
// embeddings.
func (s *speakerJob) cluster() (diarize.Result, error) {
	s.mu.Lock()
	if s.err != nil {
		defer s.mu.Unlock()
		return diarize.Result{}, s.err
	}
	var all []diarize.Embedding
	for _, i := range slices.Sorted(maps.Keys(s.embs)) {
		all = append(all, s.embs[i]...)
	}
	s.mu.Unlock()
	r, err := diarize.Cluster(all, clusterOptions(s.opts))
	if err != nil {
		return r, apperr.New(apperr.CodeInternal, err, "the speakers could not be told apart: %v", err)
	}
	return r, nil
}

// diarizationFailed is how a speaker-model failure reaches the user: the
// transcript stands, without speakers.
func diarizationFailed(err error) string {
	return oneLine(diarizationFailedText(err).Text)
}

// diarizationFailedText is the sentence of diarizationFailed for the UI.
func diarizationFailedText(err error) apperr.Text {
	return apperr.Textf("telling the speakers apart failed, so the transcript has no speakers: %s", err)
}

// openSpeakers prepares the job's diarization. A server without the
// speaker model (or with none at all) fails the job at once, before any
// audio is sent; a model that is there but does not fit the contract
// only turns diarization off, with the reason, as a failure mid-job does.
func (j *job) openSpeakers(ctx context.Context) error {
	o := *j.req.Speakers
	if err := checkSpeakerOptions(o); err != nil {
		return err
	}
	m, err := j.e.speakerModel(ctx, j.req.Server, o.Model)
	j.spk = &speakerJob{model: m, opts: o, mode: j.e.spanMode(), embs: map[int][]diarize.Embedding{}}
	if err != nil {
		if apperr.CodeOf(err) != apperr.CodeContract {
			return err
		}
		j.spk.err = err
	}
	return nil
}

// loadEmbeddings reads the stored embeddings of the job's file, or, for
// a forced run, forgets them.
func (j *job) loadEmbeddings(ctx context.Context, sha string, dec decodeOptions, plan chunkPlan) error {
	s := j.spk
	if s.model == nil {
		return nil
	}
	s.plan = speakerPlanKey(sha, j.req.Server, s.model.name, s.model.version, dec, plan, s.mode)
	if j.e.store == nil {
		return nil
	}
	if j.req.Force {
		return storeErrorOr(j.e.store.DropEmbeddings(ctx, s.plan))
	}
	stored, err := j.e.store.EmbeddingsFor(ctx, s.plan)
	if err != nil {
		return storeError(err)
	}
	s.stored = stored
	return nil
}

func storeErrorOr(err error) error {
	if err == nil {
		return nil
	}
	return storeError(err)
}

func (e *Engine) spanMode() SpanMode {
	if e.cfg.SpeakerSpans == SpansWindows {
		return SpansWindows
	}
	return SpansWords
}

// wantsDiarize says whether a stored transcript must be diarized for o:
// it has no speakers, or not as many as o asks for.
func wantsDiarize(t transcript.Transcript, o SpeakerOptions) bool {
	n := len(t.Speakers)
	switch {
	case n == 0:
		return true
	case o.Count > 0:
		return n != o.Count
	case o.Min > 0 && n < o.Min, o.Max > 0 && n > o.Max:
		return true
	}
	return false
}

// chunkOf is the part of stored transcript t in the chunk of n samples at
// offset, as the model's answer for that chunk would have been: every
// word whose middle lies in it, chunk-relative; a segment without words
// likewise by its middle.
func chunkOf(t transcript.Transcript, offset, n int64) transcript.ChunkResult {
	from := float64(offset) / audio.SampleRate
	to := float64(offset+n) / audio.SampleRate
	in := func(a, b float64) bool { m := (a + b) / 2; return m >= from && m < to }
	var r transcript.ChunkResult
	for _, seg := range t.Segments {
		if len(seg.Words) == 0 {
			if in(seg.Start, seg.End) {
				r.Segments = append(r.Segments, transcript.Segment{Start: seg.Start - from, End: seg.End - from, Text: seg.Text})
			}
			continue
		}
		for _, w := range seg.Words {
			if in(w.Start, w.End) {
				r.Words = append(r.Words, transcript.Word{Word: w.Word, Start: w.Start - from, End: w.End - from})
			}
		}
	}
	return r
}

// keepNames carries the names the user gave speakers of before (a
// transcript diarized again) over to the speakers of after that said most
// of their words: a rename outlives a new count. Default labels
// ("Speaker 2") are not carried, so new speakers stay numbered by first
// appearance; a name that would clash is left out.
func keepNames(before, after transcript.Transcript) transcript.Transcript {
	if len(before.Speakers) == 0 {
		return after
	}
	var was, is []string
	for _, seg := range before.Segments {
		for _, w := range seg.Words {
			was = append(was, cmp.Or(w.Speaker, seg.Speaker))
		}
		if len(seg.Words) == 0 {
			was = append(was, seg.Speaker)
		}
	}
	for _, seg := range after.Segments {
		for _, w := range seg.Words {
			is = append(is, w.Speaker)
		}
		if len(seg.Words) == 0 {
			is = append(is, seg.Speaker)
		}
	}
	if len(was) != len(is) {
		return after
	}
	shared := map[[2]string]int{}
	for i := range was {
		shared[[2]string{is[i], was[i]}]++
	}
	// Pairs by falling count, each new and each old speaker used once.
	pairs := slices.Collect(maps.Keys(shared))
	slices.SortFunc(pairs, func(a, b [2]string) int {
		if d := shared[b] - shared[a]; d != 0 {
			return d
		}
		return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1])
	})
	usedNew, usedOld := map[string]bool{}, map[string]bool{}
	out := after
	for _, pr := range pairs {
		if usedNew[pr[0]] || usedOld[pr[1]] || pr[1] == "" || defaultLabel.MatchString(pr[1]) {
			continue
		}
		usedNew[pr[0]], usedOld[pr[1]] = true, true
		if t, err := speakers.Rename(out, pr[0], pr[1]); err == nil {
			out = t
		}
	}
	return out
}

// defaultLabel is how diarization names speakers until the user does.
var defaultLabel = regexp.MustCompile(`^Speaker [0-9]+$`)

// errNoStore is Diarize's failure without a history.
var errNoStore = errors.New("no history")
