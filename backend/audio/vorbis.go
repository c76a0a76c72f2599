package audio

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/jfreymuth/vorbis"
)

// Ogg Vorbis with jfreymuth/vorbis, decoded on several cores at once: the
// decoder costs about three times what resampling does, and it is the
// bottleneck. A Vorbis packet's samples depend only on the packet and on
// the one before it (whose second half overlaps it), so the stream is cut
// into batches of packets, each decoded by its own decoder after it has
// decoded the previous batch's last packet to prime the overlap. The
// result is the same, sample for sample, as decoding in one go. Our Ogg
// reader delivers the packets (checksums checked, damaged pages skipped);
// granule positions trim the start and the end as the specification says.

const (
	// vorbisBatchPackets and vorbisBatchBytes bound a batch: about 0.7 s
	// of 44.1 kHz audio, one packet in 48 decoded twice.
	vorbisBatchPackets = 48
	vorbisBatchBytes   = 256 << 10
	maxVorbisWorkers   = 4
)

// vorbisMark is what the Ogg layer says about one packet.
type vorbisMark struct {
	granule int64 // the granule position of the page it ends, or -1
	last    bool  // the last packet of the stream
}

// vorbisJob is a batch of packets for one worker.
type vorbisJob struct {
	warm  []byte   // the packet before pkts, to prime the overlap; nil at the start and after damage
	pkts  [][]byte // slices of one buffer owned by the job
	marks []vorbisMark
	end   error // what ended the packets after these (io.EOF, io.ErrUnexpectedEOF, ...), or nil
	pages int   // damaged Ogg pages skipped so far
	gap   bool  // packets were lost just before pkts
}

// vorbisBatch is a decoded batch, mixed to mono.
type vorbisBatch struct {
	mono  []float32
	ends  []int // per packet decoded: len(mono) after it
	marks []vorbisMark
	err   error // a packet that failed to decode (after ends), or nil
	end   error
	pages int
	gap   bool
}

type vorbisSource struct {
	rate     int
	channels int
	sel      int

	jobs    []chan vorbisJob
	results []chan vorbisBatch
	quit    chan struct{}
	wg      sync.WaitGroup
	stop    sync.Once
	next    int // index of the next batch

	cur     []float32
	pos     int64 // frames decoded before trimming, through the last batch
	skip    int64 // frames still to drop at the start
	trim    int64 // frames dropped at the start in all
	started bool  // the first granule position was seen
	read    int64
	pages   int // damaged pages skipped
	trunc   bool
	done    bool
	err     error
}

func newVorbisDecoder(f *os.File, kind fileKind, sel int) (*Decoder, error) {
	if _, err := f.Seek(kind.offset, io.SeekStart); err != nil {
		return nil, err
	}
	o := newOggReader(f)
	var headers [3][]byte
	var probe vorbis.Decoder
	for i := range headers {
		p, _, err := o.nextPacket()
		if err != nil {
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("%w: %w Ogg Vorbis header", ErrCorrupt, ErrTruncated)
			}
			return nil, fmt.Errorf("%w: Ogg Vorbis header: %w", ErrCorrupt, err)
		}
		headers[i] = append([]byte(nil), p...)
		if err := guard("Vorbis", func() error { return probe.ReadHeader(headers[i]) }); err != nil {
			if errors.Is(err, ErrCorrupt) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: Ogg Vorbis header: %v", ErrCorrupt, err)
		}
	}
	rate, ch := probe.SampleRate(), probe.Channels()
	switch {
	case !probe.HeadersRead():
		return nil, fmt.Errorf("%w: Ogg Vorbis headers out of order", ErrCorrupt)
	case rate < minSourceRate || rate > maxSourceRate:
		return nil, fmt.Errorf("%w: Vorbis sample rate of %d Hz", ErrCorrupt, rate)
	case ch < 1 || ch > maxChannels:
		return nil, fmt.Errorf("%w: Vorbis with %d channels", ErrCorrupt, ch)
	case sel >= ch:
		return nil, fmt.Errorf("%w: channel %d of a %d-channel file", ErrInvalidOptions, sel, ch)
	}
	total := int64(-1)
	if fi, err := f.Stat(); err == nil {
		if g := oggLastGranule(f, fi.Size(), o.serial); g > 0 {
			total = g
		}
	}
	// At least two, so that the stream is cut into batches the same way
	// on any machine.
	workers := min(max(2, runtime.GOMAXPROCS(0)), maxVorbisWorkers)
	decs := make([]*vorbis.Decoder, workers)
	decs[0] = &probe
	for i := 1; i < workers; i++ {
		decs[i] = new(vorbis.Decoder)
		for _, h := range headers {
			if err := decs[i].ReadHeader(h); err != nil { // read once already: cannot fail
				return nil, fmt.Errorf("%w: Ogg Vorbis header: %v", ErrCorrupt, err)
			}
		}
	}
	s := &vorbisSource{rate: rate, channels: ch, sel: sel, quit: make(chan struct{})}
	for _, d := range decs {
		jobs, results := make(chan vorbisJob, 1), make(chan vorbisBatch, 1)
		s.jobs, s.results = append(s.jobs, jobs), append(s.results, results)
		s.wg.Add(1)
		go s.work(d, jobs, results)
	}
	s.wg.Add(1)
	go s.dispatch(o)
	info := Info{Format: "ogg/vorbis", SourceRate: rate, Channels: ch}
	return newSourceDecoder(s, info, total, false), nil
}

// dispatch reads the packets and hands them out in batches, in turn to
// each worker.
func (s *vorbisSource) dispatch(o *oggReader) {
	defer s.wg.Done()
	var prev []byte  // the last packet sent
	var carry []byte // a packet read but left for the next batch
	var carryMark vorbisMark
	damaged := o.damaged
	for k := 0; ; k++ {
		job := vorbisJob{warm: prev}
		data := make([]byte, 0, 64<<10)
		var offs []int
		add := func(p []byte, m vorbisMark) {
			data = append(data, p...)
			offs = append(offs, len(data))
			job.marks = append(job.marks, m)
		}
		if carry != nil {
			add(carry, carryMark)
			carry, job.warm, job.gap = nil, nil, true
		}
		for len(offs) < vorbisBatchPackets && len(data) < vorbisBatchBytes {
			p, g, err := o.nextPacket()
			if err != nil {
				job.end = err
				break
			}
			m := vorbisMark{granule: g, last: g >= 0 && o.eos}
			if o.damaged != damaged {
				// Packets were lost: the overlap with the one before is
				// gone; start afresh (the first packet then gives nothing).
				damaged = o.damaged
				if len(offs) > 0 {
					carry, carryMark = append([]byte(nil), p...), m
					break
				}
				job.warm, job.gap = nil, true
			}
			add(p, m)
		}
		start := 0
		for _, e := range offs {
			job.pkts = append(job.pkts, data[start:e:e])
			start = e
		}
		job.pages = damaged
		if len(job.pkts) > 0 {
			prev = job.pkts[len(job.pkts)-1]
		}
		select {
		case s.jobs[k%len(s.jobs)] <- job:
		case <-s.quit:
			return
		}
		if job.end != nil {
			return
		}
	}
}

// work decodes the batches sent to it, in order.
func (s *vorbisSource) work(d *vorbis.Decoder, jobs <-chan vorbisJob, results chan<- vorbisBatch) {
	defer s.wg.Done()
	buf := make([]float32, d.BufferSize())
	decode := func(p []byte) (out []float32, err error) {
		err = guard("Vorbis", func() (err error) {
			out, err = d.DecodeInto(p, buf)
			return err
		})
		return out, err
	}
	for {
		var job vorbisJob
		select {
		case job = <-jobs:
		case <-s.quit:
			return
		}
		b := vorbisBatch{marks: job.marks, end: job.end, pages: job.pages, gap: job.gap}
		d.Clear()
		if job.warm != nil {
			decode(job.warm) // its samples went out with the batch before
		}
		b.mono = make([]float32, 0, len(job.pkts)*len(buf)/s.channels)
		for _, p := range job.pkts {
			out, err := decode(p)
			if err != nil {
				b.err = err
				break
			}
			frames := len(out) / s.channels
			for i := range out {
				out[i] = clampSample(out[i])
			}
			n := len(b.mono)
			b.mono = b.mono[:n+frames]
			mixInterleaved(out[:frames*s.channels], b.mono[n:], s.channels, s.sel)
			b.ends = append(b.ends, len(b.mono))
		}
		select {
		case results <- b:
		case <-s.quit:
			return
		}
	}
}

func (s *vorbisSource) status() sourceStatus {
	st := sourceStatus{frames: s.read, truncated: s.trunc}
	switch {
	case s.trunc:
		st.warning = fmt.Errorf("audio: %w Ogg Vorbis file: the audio stops after %.2f s without the stream's end",
			ErrTruncated, float64(s.read)/float64(s.rate))
	case s.pages > 0:
		st.warning = fmt.Errorf("audio: %w: %d damaged Ogg pages were skipped", ErrCorrupt, s.pages)
	}
	return st
}

func (s *vorbisSource) readMono(dst []float32) (int, error) {
	for len(s.cur) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.done {
			return 0, io.EOF
		}
		s.receive()
	}
	n := copy(dst, s.cur)
	s.cur = s.cur[n:]
	s.read += int64(n)
	return n, nil
}

// maxVorbisGap bounds the silence, in seconds, put in place of lost pages.
const maxVorbisGap = 10

// receive takes the next batch and trims it by the granule positions.
func (s *vorbisSource) receive() {
	b := <-s.results[s.next%len(s.results)]
	s.next++
	s.pages = b.pages
	mono := b.mono
	pad := 0
	if b.gap && s.started {
		// Pages were lost: the next granule position says how long they
		// lasted, and silence takes their place so times stay right.
		for i, end := range b.ends {
			if g := b.marks[i].granule; g >= 0 {
				lost := g - (s.pos - s.trim) - int64(end)
				if lost > 0 && lost <= int64(maxVorbisGap*s.rate) {
					pad = int(lost)
					mono = append(make([]float32, pad, pad+len(mono)), mono...)
					s.pos += lost
				}
				break
			}
		}
	}
	for i, end := range b.ends {
		m := b.marks[i]
		if m.granule < 0 {
			continue
		}
		at := s.pos + int64(end) - s.trim // the position through this packet
		if !s.started {
			// The first page's position says how many of its samples
			// belong to the stream: any more are dropped from the start
			// (unless it is also the last page, which trims the end).
			s.started = true
			if !m.last {
				s.skip = max(0, at-m.granule)
				s.trim = s.skip
			}
		}
		if m.last && at > m.granule {
			mono = mono[:max(0, int64(pad+end)-(at-m.granule))]
		}
	}
	if len(b.ends) > 0 {
		s.pos += int64(b.ends[len(b.ends)-1])
	}
	drop := min(int64(len(mono)), s.skip)
	s.skip -= drop
	s.cur = mono[drop:]
	switch {
	case b.err != nil:
		s.err = fmt.Errorf("%w: Vorbis data damaged after %.2f s: %v", ErrCorrupt, float64(s.read)/float64(s.rate), b.err)
		if errors.Is(b.err, ErrCorrupt) {
			s.err = b.err
		}
		s.done = true
	case b.end == io.EOF:
		s.done = true
	case errors.Is(b.end, io.ErrUnexpectedEOF):
		s.done, s.trunc = true, true
	case b.end != nil:
		s.err, s.done = b.end, true
	}
}

// Close stops the goroutines and waits for them, so that the file can be
// closed after.
func (s *vorbisSource) Close() error {
	s.stop.Do(func() { close(s.quit) })
	s.wg.Wait()
	return nil
}

// mixInterleaved mixes interleaved frames to mono: channel sel, or the
// average of all when sel is -1.
func mixInterleaved(inter, dst []float32, ch, sel int) {
	switch {
	case sel >= 0:
		for i := range dst {
			dst[i] = clampSample(inter[i*ch+sel])
		}
	case ch == 1:
		for i := range dst {
			dst[i] = clampSample(inter[i])
		}
	case ch == 2:
		for i := range dst {
			dst[i] = clampSample((inter[2*i] + inter[2*i+1]) * 0.5)
		}
	default:
		scale := 1 / float32(ch)
		for i := range dst {
			var sum float32
			for _, v := range inter[i*ch : i*ch+ch] {
				sum += v
			}
			dst[i] = clampSample(sum * scale)
		}
	}
}
