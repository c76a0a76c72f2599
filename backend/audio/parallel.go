package audio

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Parallel decoding of one long file through ffmpeg.
//
// The file is cut into ranges of equal length and up to Options.Ranges
// ffmpeg processes (GOMAXPROCS by default) decode them at once, each with
// the single process's command line (decoding, mixing and ffmpeg's own
// resampling to 16 kHz) and one thread: ffmpeg k seeks (-ss) a second
// before range k's start and decodes from there to the end of the file,
// but its output is read only as far as it is needed.
//
// Every range starts at an instant that is a whole number of both source
// and output samples (a multiple of 10 ms for 44.1 and 48 kHz), so its
// resampler steps through the same phases as the single process's and,
// once its filter and the codec's state have warmed up (the MP3 bit
// reservoir, MDCT overlap and synthesis filters converge within the
// second decoded before the range), computes the same samples bit for
// bit.
//
// A join trusts neither ffmpeg's seeking nor that reasoning: when the
// stream reaches range k's start, a window of range k's samples is looked
// for, sample for sample and bit for bit, among those the running decoder
// delivers around that point. Found exactly once, it fixes range k's place
// to the sample and the stream goes on from range k. Not found (a seek
// that was not exact, a codec whose decoder state never converges
// bit-exactly, a window of digital silence, a range past the real end of
// the file), the running decoder simply goes on through range k itself.
// Either way the stream is sample for sample the single process's, as
// long, with every timestamp unchanged.
//
// Memory is bounded: the range being delivered streams through its pipe;
// each range decoded ahead buffers at most its share of prefetchBudget
// (and the join's span), its ffmpeg then waiting on its pipe, so that all
// of them together hold at most prefetchBudget samples.

// Tuning of the parallel path (variables so that tests can use short files).
var (
	// parallelMinSeconds: shorter files decode in one process, where
	// starting more costs more than it saves.
	parallelMinSeconds = 90.0
	// autoMinCores: with fewer cores the ranges are not used unless asked
	// for. Each range costs an ffmpeg start and a seek (for MP3 without a
	// seek index ffmpeg reads every packet up to the place), and on two
	// cores the decoders compete with the rest of the pipeline for the
	// same CPU: bench/engine's hour measures it.
	autoMinCores = 4
	// rangeMinSeconds is the shortest range.
	rangeMinSeconds = 20.0
	// prefetchBudget bounds the samples buffered by all ranges together
	// (float32s: 16 Mi is 64 MiB, 17 minutes). It sets the ranges'
	// length, and each range costs an ffmpeg start and a seek: decoding
	// an hour of MP3 on 2 decoders, the 5 ranges of this budget took
	// 5.1-5.8 s of ffmpeg CPU, the 7 of a 10 Mi one 5.4-6.6 s. The CLI's
	// peak memory for two hours of WAV through ffmpeg is 167 MB (target
	// under 200 MB; bench/audio/bench.sh), 125 MB with 10 Mi.
	prefetchBudget = int64(16 << 20)
	// joinLeadSeconds: a range's decoder starts this long before the
	// range, to warm up; it is also how far the join looks either side
	// of the range's nominal start.
	joinLeadSeconds = 1.0
	// maxRanges, when positive, caps the number of ranges (tests: 1 gives
	// the reference, one decoder through the same path).
	maxRanges = 0
)

const (
	joinWindow = 2048 // samples compared at a join
	joinTries  = 8    // windows tried, one after another, before giving up
	rangeBlock = 1 << 14
)

// RangesEnv, when it holds a number, is the number of ffmpeg processes
// that decode one long file when Options.Ranges is 0 (1: one process).
const RangesEnv = "NEMO_TRANSCRIBE_RANGES"

// parallelRanges decides how many decoders to run for a file of the given
// length; 1 means the ordinary single process.
func parallelRanges(opts Options, duration float64) int {
	n := opts.Ranges
	if v, err := strconv.Atoi(os.Getenv(RangesEnv)); n == 0 && err == nil && v > 0 {
		n = v // benchmarks: the ranges asked for, whatever the cores
	}
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
		if duration < parallelMinSeconds || n < autoMinCores {
			return 1
		}
	}
	if n < 2 || duration <= 0 || duration < 2*rangeMinSeconds {
		return 1
	}
	return n
}

// parallelKind reports the formats whose headers we read, whose audio
// starts at time zero and whose decoders are deterministic functions of
// the packets once warmed up: for them input seeking and a content match
// are all a join needs. AAC is not among them: ffmpeg's decoder fills
// noise-substituted bands (PNS) from a random generator whose state runs
// on from the start of the file, so a range decoded after a seek differs
// from the single decode wherever PNS is used, long after a window
// matched.
func parallelKind(hp headerProbe) bool {
	switch hp.name {
	case "mp3", "flac", "ogg/vorbis", "ogg/opus":
		return true
	}
	return hp.codec == "pcm"
}

// openParallel starts the ranged decoders for a file ffmpeg would decode.
func openParallel(t ffTools, path string, hp headerProbe, sel, decoders int, info Info) (*Decoder, error) {
	p := hp.probeInfo
	total := int64(math.Round(p.duration * SampleRate))
	if info.Samples >= 0 {
		total = info.Samples
	}
	// Ranges start on a grid of whole source and output samples (and of
	// 10 ms, so that -ss is exact in ffmpeg's microseconds).
	unit := int64(SampleRate / gcd(gcd(p.rate, SampleRate), 100))
	lead := (int64(joinLeadSeconds*SampleRate) + unit - 1) / unit * unit
	starts := rangeStarts(total, decoders, unit, int64(rangeMinSeconds*SampleRate), prefetchBudget)
	if maxRanges > 0 && len(starts) > maxRanges {
		starts = starts[:maxRanges]
	}
	rs := &rangeSource{
		ffmpeg: t.ffmpeg, path: path, p: p, sel: sel,
		starts: starts, window: decoders, want: -1, declaredTrunc: hp.truncated, lead: lead,
	}
	switch {
	case info.Samples >= 0:
		rs.want, rs.exact = info.Samples, true
	case p.duration > 0 && !p.estimated:
		rs.want = int64(math.Round(p.duration * SampleRate))
	}
	rs.ranges = make([]*decRange, len(starts))
	if err := rs.startAhead(); err != nil {
		rs.Close()
		return nil, err
	}
	rs.cur = rs.ranges[0]
	rs.cur.limit.Store(deliverLimit)
	return &Decoder{info: info, src: rs}, nil
}

// rangeStarts lays out the ranges of a file of total samples for the
// given number of decoders (at least 2), each range starting on the grid
// of unit samples and at least minLen long, with budget samples buffered
// by all ranges together.
//
// While the range being delivered drains what it decoded ahead, the next
// ones fill up: decoders-1 ranges may be decoded ahead at once, each
// buffering at most budget/decoders (aheadCap). When every range fits
// that, the file is cut into decoders equal ranges, all decoded at once.
// Otherwise the ranges take turns: one decoded aheadCap ahead and then
// the rest of it live while delivered keeps its decoder busy all along
// when it is decoders/(decoders-1) times aheadCap long (maxLen). The
// first and last ranges are half as long as the others: the first is
// delivered just as the ranges started with it have filled their buffers,
// so none waits on a full pipe with a core idle (with ranges of equal
// length the second of 2 decoders waited half the first range, 0.4-0.6 s
// of a core for an hour of MP3); and the last is decoded whole while the
// one before it is delivered, so the file does not end on one decoder.
// Every range costs an ffmpeg start and a seek, so they are as long as
// that allows.
func rangeStarts(total int64, decoders int, unit, minLen, budget int64) []int64 {
	roundUp := func(v int64) int64 { return (v + unit - 1) / unit * unit }
	evenly := func(length int64) []int64 {
		starts := []int64{0}
		for s := length; s < total; s += length {
			if total-s < length/4 {
				break // a short last piece goes with the one before
			}
			starts = append(starts, s)
		}
		return starts
	}
	n := int64(max(decoders, 2))
	aheadCap := budget / n
	if per := (total + n - 1) / n; per <= aheadCap {
		return evenly(roundUp(max(minLen, per)))
	}
	maxLen := max(minLen, budget/(n-1))
	turns := (total + maxLen - 1) / maxLen
	length := total / turns
	if length/2 < minLen {
		return evenly(roundUp(maxLen))
	}
	starts := []int64{0}
	for i := range turns {
		starts = append(starts, roundUp(length/2+i*length))
	}
	return starts
}

// rangeSource joins the ranges into one stream of source-rate mono
// samples (a source for the resampler).
type rangeSource struct {
	ffmpeg, path string
	p            probeInfo
	sel          int
	starts       []int64 // first output sample of each range
	ranges       []*decRange
	window       int   // decoders at once
	lead         int64 // warm-up and search span, in samples

	cur     *decRange
	next    int       // the range to join next
	pending []float32 // samples taken for a join, still to deliver
	pos     int64     // samples delivered
	joined  int       // ranges that took over (for tests)

	want          int64 // samples announced, or -1
	exact         bool
	declaredTrunc bool
	short         bool
	ended         bool
	err           error
	closeOnce     sync.Once
}

// startAhead keeps window decoders running: the current one and those
// decoding the ranges after it.
func (rs *rangeSource) startAhead() error {
	running := 0
	for _, r := range rs.ranges {
		if r != nil && !r.closed {
			running++
		}
	}
	for k := range rs.ranges {
		if running >= rs.window {
			break
		}
		if rs.ranges[k] != nil || k < rs.next && k != 0 {
			continue
		}
		r, err := rs.startRange(k)
		if err != nil {
			return err
		}
		rs.ranges[k] = r
		running++
	}
	return nil
}

func (rs *rangeSource) startRange(k int) (*decRange, error) {
	seek := int64(0)
	if k > 0 {
		seek = max(0, rs.starts[k]-rs.lead)
	}
	args := ffmpegArgs(rs.path, rs.p, rs.sel)
	for i, a := range args {
		if a == "-threads" {
			args[i+1] = "1" // the ranges are the parallelism
		}
		if a == "-i" && seek > 0 {
			args = slices.Insert(args, i, "-ss", strconv.FormatFloat(float64(seek)/SampleRate, 'f', 6, 64))
			break
		}
	}
	// A range decoded ahead buffers up to its own length and the join's
	// span; the one being delivered only a few blocks.
	end := int64(math.MaxInt64)
	if k+1 < len(rs.starts) {
		end = rs.starts[k+1]
	} else if rs.want > 0 {
		end = rs.want
	}
	capSamples := int64(4 * rangeBlock)
	if k > 0 {
		capSamples = prefetchBudget / int64(rs.window)
		if end != math.MaxInt64 {
			capSamples = min(capSamples, end-seek)
		}
		capSamples += 3*rs.lead + joinWindow*joinTries
	}
	r := &decRange{idx: k, seek: seek, path: rs.path,
		blocks: make(chan []float32, capSamples/rangeBlock+2), more: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	r.limit.Store(capSamples/rangeBlock + 2)
	if err := r.start(rs.ffmpeg, args); err != nil {
		return nil, err
	}
	return r, nil
}

// readMono delivers the joined stream.
func (rs *rangeSource) readMono(dst []float32) (int, error) {
	if rs.err != nil {
		return 0, rs.err
	}
	for {
		if len(rs.pending) > 0 {
			if rs.exact && rs.pos+int64(len(rs.pending)) > rs.want {
				rs.pending = rs.pending[:max(0, rs.want-rs.pos)]
				continue
			}
			n := copy(dst, rs.pending)
			rs.pending = rs.pending[n:]
			rs.pos += int64(n)
			return n, nil
		}
		if rs.ended {
			// Pad the last samples ffmpeg's resampler left off, as the
			// single process does.
			if rs.exact && rs.pos < rs.want && rs.want-rs.pos <= padLimit {
				n := int(min(int64(len(dst)), rs.want-rs.pos))
				clear(dst[:n])
				rs.pos += int64(n)
				return n, nil
			}
			return 0, io.EOF
		}
		limit := len(dst)
		if rs.next < len(rs.starts) {
			if rs.next == 0 {
				rs.next = 1
				continue
			}
			at := rs.starts[rs.next] - rs.lead
			if rs.pos >= at {
				if err := rs.join(); err != nil {
					return rs.fail(err)
				}
				continue
			}
			limit = int(min(int64(limit), at-rs.pos))
		}
		if rs.exact {
			if rs.pos >= rs.want {
				rs.finish()
				continue
			}
			limit = int(min(int64(limit), rs.want-rs.pos))
		}
		b, err := rs.cur.take(limit)
		if len(b) > 0 {
			n := copy(dst, b)
			rs.pos += int64(n)
			return n, nil
		}
		if err == io.EOF {
			rs.finish()
			continue
		}
		return rs.fail(err)
	}
}

func (rs *rangeSource) fail(err error) (int, error) {
	rs.err = err
	rs.Close()
	return 0, err
}

// finish ends the stream at the current decoder's end.
func (rs *rangeSource) finish() {
	rs.ended = true
	rs.next = len(rs.starts)
	rs.Close()
	rs.short = fellShort(rs.want, rs.pos, rs.exact)
}

// finish makes Info describe what was delivered (as ffmpegSource does).
func (rs *rangeSource) finishInfo(info *Info) { describeDelivered(info, rs.pos, rs.short) }

// join tries to hand the stream over to range rs.next. It takes the
// current decoder's samples over the search span into pending (they are
// delivered either way) and looks for a window of the next range in them.
func (rs *rangeSource) join() error {
	k := rs.next
	rs.next++
	nr := rs.ranges[k]
	defer func() {
		if rs.err == nil {
			rs.startAhead()
		}
	}()
	if nr == nil {
		return nil
	}
	span := int(2*rs.lead) + joinWindow*joinTries
	region := make([]float32, 0, span)
	for len(region) < span {
		b, err := rs.cur.take(span - len(region))
		region = append(region, b...)
		if err == io.EOF {
			break
		}
		if err != nil {
			nr.close()
			return err
		}
	}
	rs.pending = region
	// The next range's head: its warm-up, then the windows to look for.
	headLen := int(rs.starts[k]-nr.seek) + joinWindow*joinTries
	head := make([]float32, 0, headLen)
	for len(head) < headLen {
		b, err := nr.take(headLen - len(head))
		head = append(head, b...)
		if err == io.EOF {
			break
		}
		if err != nil {
			rs.closeRanges()
			return err
		}
	}
	warm := int(rs.starts[k] - nr.seek)
	for t := 0; t < joinTries; t++ {
		a := warm + t*joinWindow
		if a+joinWindow > len(head) {
			break
		}
		w := head[a : a+joinWindow]
		if constant(w) {
			continue
		}
		at, ok := findOnce(region, w)
		if !ok {
			continue
		}
		// head[a] is region[at]: the range's sample 0 is at global
		// index rs.pos+at-a. Skip what the region already delivers.
		skip := int64(len(region)) - int64(at) + int64(a)
		if skip < int64(len(head)) {
			nr.unread = head[skip:]
		} else if err := nr.skip(skip - int64(len(head))); err != nil {
			return err
		}
		rs.cur.close()
		rs.ranges[rs.cur.idx] = rs.cur
		rs.cur = nr
		nr.limit.Store(deliverLimit)
		rs.joined++
		return nil
	}
	// No exact match: the current decoder goes on through this range.
	nr.close()
	return nil
}

// constant reports a window that cannot place itself (all one value).
func constant(w []float32) bool {
	for _, v := range w[1:] {
		if v != w[0] {
			return false
		}
	}
	return true
}

// findOnce finds w in x, bit for bit; ok only when it occurs exactly once.
func findOnce(x, w []float32) (int, bool) {
	at, found := -1, 0
	first := math.Float32bits(w[0])
	for s := 0; s+len(w) <= len(x); s++ {
		if math.Float32bits(x[s]) != first {
			continue
		}
		if sameBits(x[s:s+len(w)], w) {
			at = s
			found++
			if found > 1 {
				return -1, false
			}
		}
	}
	return at, found == 1
}

func sameBits(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func (rs *rangeSource) status() sourceStatus {
	st := sourceStatus{frames: rs.pos, truncated: rs.declaredTrunc || rs.short}
	if st.truncated {
		st.warning = fmt.Errorf("audio: %w file: it holds %.2f s of audio but announces %.2f s",
			ErrTruncated, float64(rs.pos)/SampleRate, float64(rs.want)/SampleRate)
		if rs.declaredTrunc && rs.exact {
			st.warning = fmt.Errorf("audio: %w file: the header declares more audio than the file holds (%.2f s are present)",
				ErrTruncated, float64(rs.want)/SampleRate)
		}
	}
	return st
}

func (rs *rangeSource) closeRanges() {
	for _, r := range rs.ranges {
		if r != nil {
			r.close()
		}
	}
}

// Close stops every decoder.
func (rs *rangeSource) Close() error {
	rs.closeOnce.Do(rs.closeRanges)
	return nil
}

// blockPool recycles the ranges' blocks (a two-hour file would otherwise
// leave 460 MB of them to the garbage collector).
var blockPool sync.Pool

// deliverLimit is how many blocks the range being delivered reads ahead.
const deliverLimit = 4

// decRange is one ffmpeg decoding from its seek point on, read by a
// goroutine into a bounded queue of blocks.
type decRange struct {
	idx    int
	seek   int64
	path   string
	cmd    *exec.Cmd
	out    io.ReadCloser
	stderr *limitedBuffer

	blocks chan []float32
	// limit is how many blocks the goroutine may have queued: a range's
	// length while it is decoded ahead, a few once it is being delivered
	// (its decoder then keeps pace with the reader instead of filling
	// memory). queued counts them; more wakes the goroutine.
	limit  atomic.Int64
	queued atomic.Int64
	more   chan struct{}
	full   []float32 // the block buf was cut from, recycled once used
	quit   chan struct{}
	done   chan struct{}
	err    error // why the goroutine stopped, other than the end; set before done closes

	buf    []float32 // the block being taken from
	unread []float32 // samples put back by a join, taken first
	got    int64     // samples read from ffmpeg
	closed bool
	once   sync.Once
}

func (r *decRange) start(ffmpeg string, args []string) error {
	r.cmd = exec.Command(ffmpeg, args...)
	hideWindow(r.cmd)
	r.stderr = &limitedBuffer{max: 16 << 10, buf: &bytes.Buffer{}, keepTail: true}
	r.cmd.Stderr = r.stderr
	out, w, err := outputPipe(r.cmd)
	if err != nil {
		return fmt.Errorf("%w: cannot make a pipe for ffmpeg: %v", ErrFFmpeg, err)
	}
	err = r.cmd.Start()
	if w != nil {
		w.Close()
	}
	if err != nil {
		out.Close()
		return fmt.Errorf("%w: cannot run %s: %v", ErrFFmpeg, ffmpeg, err)
	}
	r.out = out
	go r.run()
	return nil
}

// run reads ffmpeg's output until its end, an error or close.
func (r *decRange) run() {
	defer close(r.done)
	defer close(r.blocks)
	for {
		for r.queued.Load() >= r.limit.Load() {
			select {
			case <-r.more:
			case <-r.quit:
				return
			}
		}
		b, _ := blockPool.Get().([]float32)
		if len(b) != rangeBlock {
			b = make([]float32, rangeBlock)
		}
		n, err := io.ReadFull(r.out, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), 4*len(b)))
		got := n / 4
		if !littleEndian {
			raw := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b))), 4*got)
			for i := range got {
				b[i] = math.Float32frombits(uint32(raw[4*i]) | uint32(raw[4*i+1])<<8 | uint32(raw[4*i+2])<<16 | uint32(raw[4*i+3])<<24)
			}
		}
		for i, v := range b[:got] {
			if v > 1 || v < -1 || v != v {
				b[i] = clampSample(v)
			}
		}
		r.got += int64(got)
		if got > 0 {
			select {
			case r.blocks <- b[:got]:
				r.queued.Add(1)
			case <-r.quit:
				return
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			r.err = r.wait()
			return
		}
		if err != nil {
			select {
			case <-r.quit:
				return
			default:
			}
			r.err = fmt.Errorf("%w: reading its output: %v", ErrFFmpeg, err)
			return
		}
	}
}

// wait reaps ffmpeg at the end of its output; a failure is the file's.
func (r *decRange) wait() error {
	err := r.cmd.Wait()
	r.out.Close()
	if err == nil {
		return nil
	}
	msg := lastLine(r.stderr.String(), r.path)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Errorf("%w: the ffmpeg decoding from %s was stopped (%v) before the end of the file", ErrFFmpeg, clockTime(r.seekSeconds()), ws.Signal())
		}
	}
	if msg == "" {
		msg = err.Error()
	}
	return fmt.Errorf("%w: ffmpeg stopped decoding the part from %s: %s", ErrCorrupt, clockTime(r.seekSeconds()), msg)
}

// seekSeconds is where the range's decoder started, for messages; rate
// is not kept here, so the seek argument is read back.
func (r *decRange) seekSeconds() float64 {
	for i, a := range r.cmd.Args {
		if a == "-ss" && i+1 < len(r.cmd.Args) {
			v, _ := strconv.ParseFloat(r.cmd.Args[i+1], 64)
			return v
		}
	}
	return 0
}

func clockTime(sec float64) string {
	s := int(sec)
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// take returns up to n next samples (n > 0): io.EOF at the end, or the
// error that stopped ffmpeg.
func (r *decRange) take(n int) ([]float32, error) {
	if len(r.unread) > 0 {
		k := min(n, len(r.unread))
		b := r.unread[:k]
		r.unread = r.unread[k:]
		return b, nil
	}
	if len(r.buf) == 0 {
		if r.full != nil {
			blockPool.Put(r.full[:rangeBlock])
			r.full = nil
		}
		b, ok := <-r.blocks
		if ok {
			r.queued.Add(-1)
			select {
			case r.more <- struct{}{}:
			default:
			}
			r.full = b
		}
		if !ok {
			<-r.done
			if r.err != nil {
				return nil, r.err
			}
			return nil, io.EOF
		}
		r.buf = b
	}
	k := min(n, len(r.buf))
	b := r.buf[:k]
	r.buf = r.buf[k:]
	return b, nil
}

// skip discards n samples.
func (r *decRange) skip(n int64) error {
	for n > 0 {
		b, err := r.take(int(min(n, 1<<20)))
		n -= int64(len(b))
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// close stops the decoder (a range no longer needed) and reaps it.
func (r *decRange) close() {
	r.once.Do(func() {
		r.closed = true
		close(r.quit)
		if r.cmd != nil && r.cmd.Process != nil {
			r.cmd.Process.Kill()
		}
		<-r.done
		if r.cmd != nil && r.cmd.ProcessState == nil {
			r.out.Close()
			r.cmd.Wait()
		}
	})
}
