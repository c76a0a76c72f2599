package audio

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Short files share one ffmpeg process.
//
// Starting ffmpeg costs tens of milliseconds of CPU (a distribution's
// build loads a couple of hundred shared libraries), more than decoding a
// short file does; a queue of 20-second files then keeps the machine busy
// starting decoders while the server waits. So short files opened close
// together (within batchWindow, as a queue's jobs are) are decoded by one
// process: one input and one output pipe per file, each output with the
// command line the file would get alone, so the samples are the same bit
// for bit.
//
// Each file's output is read into memory as it comes (at most
// batchMaxSeconds of 16 kHz samples, 3.8 MB) and handed to its reader only
// once the process has ended well: no file waits on another's reader, and
// nothing is delivered from a run that failed. When the shared process
// fails (one damaged file stops it or makes it report an error, which it
// does not attribute to an input), every file of the batch is decoded
// again by a process of its own, which then fails or succeeds for that
// file alone, exactly as without batching.

var (
	// batchMaxSeconds: files up to this long may share a process.
	batchMaxSeconds = 60.0
	// batchWindow is how long the first file of a batch waits for others.
	batchWindow = 25 * time.Millisecond
	// batchMaxFiles caps one process's inputs.
	batchMaxFiles = 8
)

// batchable reports whether a file of this length may share a process
// (not on Windows, where a child cannot inherit more pipes than its
// standard ones).
func batchable(duration float64) bool {
	return runtime.GOOS != "windows" && duration > 0 && duration <= batchMaxSeconds && batchMaxFiles > 1
}

// batchFile is one file's part in a shared process.
type batchFile struct {
	ffmpeg string
	args   []string // the file's own command line (ffmpegArgs)
	out    bytes.Buffer
	ok     bool          // the shared process ended well
	done   chan struct{} // closed when the process has ended
}

type batcher struct {
	mu      sync.Mutex
	pending []*batchFile
	timer   *time.Timer
}

var shortFiles batcher

// sharedRuns counts shared processes that ended well (for tests).
var sharedRuns atomic.Int64

// add queues a file for the next shared process.
func (b *batcher) add(ffmpeg string, args []string) *batchFile {
	f := &batchFile{ffmpeg: ffmpeg, args: args, done: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) > 0 && b.pending[0].ffmpeg != ffmpeg {
		b.flushLocked()
	}
	b.pending = append(b.pending, f)
	switch {
	case len(b.pending) >= batchMaxFiles:
		b.flushLocked()
	case len(b.pending) == 1:
		b.timer = time.AfterFunc(batchWindow, func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.flushLocked()
		})
	}
	return f
}

func (b *batcher) flushLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.pending) == 0 {
		return
	}
	files := b.pending
	b.pending = nil
	go runBatch(files)
}

// runBatch decodes files with one ffmpeg.
func runBatch(files []*batchFile) {
	defer func() {
		for _, f := range files {
			close(f.done)
		}
	}()
	if len(files) == 1 {
		return // alone: it runs its own process, as usual
	}
	// The shared command line: the global options once, then every
	// file's input, then every file's output options with its own pipe.
	var in, outs []string
	global := []string{"-nostdin", "-hide_banner", "-nostats", "-v", "error", "-threads", "1"}
	var readers []*os.File
	var writers []*os.File
	defer func() {
		for _, r := range readers {
			r.Close()
		}
	}()
	for k, f := range files {
		i := indexOf(f.args, "-i")
		if i < 0 || i+1 >= len(f.args) {
			return
		}
		in = append(in, "-i", f.args[i+1])
		o := append([]string(nil), f.args[i+2:len(f.args)-1]...)
		for j := range o {
			if o[j] == "-map" && j+1 < len(o) {
				o[j+1] = strconv.Itoa(k) + o[j+1][1:] // "0:1" -> "k:1"
			}
		}
		outs = append(outs, o...)
		outs = append(outs, "pipe:"+strconv.Itoa(3+k))
		r, w, err := os.Pipe()
		if err != nil {
			for _, w := range writers {
				w.Close()
			}
			return
		}
		readers = append(readers, r)
		writers = append(writers, w)
	}
	cmd := exec.Command(files[0].ffmpeg, append(append(global, in...), outs...)...)
	hideWindow(cmd)
	cmd.ExtraFiles = writers
	stderr := &limitedBuffer{max: 4 << 10, buf: &bytes.Buffer{}}
	cmd.Stderr = stderr
	err := cmd.Start()
	for _, w := range writers {
		w.Close()
	}
	if err != nil {
		return
	}
	limit := int64(batchMaxSeconds*SampleRate*4) + 1<<16
	var wg sync.WaitGroup
	over := make([]bool, len(files))
	for k, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, _ := io.Copy(&f.out, io.LimitReader(readers[k], limit+1))
			if n > limit {
				over[k] = true
				io.Copy(io.Discard, readers[k])
			}
		}()
	}
	wg.Wait()
	err = cmd.Wait()
	good := err == nil && stderr.Len() == 0
	if good {
		sharedRuns.Add(1)
	}
	for k, f := range files {
		f.ok = good && !over[k]
		if !f.ok {
			f.out = bytes.Buffer{}
		}
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// batchedSource is the source of a file decoded in a shared process: its
// first read waits for the process and then reads the file's samples from
// memory, or starts the file's own ffmpeg when the shared run failed.
type batchedSource struct {
	bf     *batchFile
	s      *ffmpegSource // made at the first read
	closed bool
}

func (b *batchedSource) get() (*ffmpegSource, error) {
	if b.s.out != nil || b.s.err != nil {
		return b.s, nil
	}
	<-b.bf.done
	if b.bf.ok {
		b.s.out = io.NopCloser(bytes.NewReader(b.bf.out.Bytes()))
		b.s.waited = true
		return b.s, nil
	}
	if err := b.s.start(b.bf.ffmpeg, b.bf.args); err != nil {
		b.s.err = err
		return b.s, err
	}
	return b.s, nil
}

func (b *batchedSource) readMono(dst []float32) (int, error) {
	s, err := b.get()
	if err != nil {
		return 0, err
	}
	return s.readMono(dst)
}

func (b *batchedSource) status() sourceStatus { return b.s.status() }

func (b *batchedSource) finishInfo(info *Info) { b.s.finishInfo(info) }

func (b *batchedSource) Close() error {
	if b.s.out == nil {
		return nil // never started: the shared process's reader discards the rest
	}
	return b.s.Close()
}
