// Command lanbench measures one long file sent over a slow link, against
// anchors taken in the same run. run.sh starts it inside a network
// namespace whose loopback carries the relay's ports through tc's tbf
// (100 Mb/s); the relay in this process holds every piece of data for
// -delay in each direction, since netem (tc's delay) is missing on the
// kernels we run on. The picture:
//
//	engine -> 127.0.0.1:9000 (tbf) -> relay (+delay) -> devserver
//	sender -> 127.0.0.1:9001 (tbf) -> relay (+delay) -> sink
//
// Measured, each -rounds times (medians reported):
//
//	fp32     the whole pipeline (stage, decode, chunk, infer, stitch,
//	         export) with the audio sent as FP32: today's path, the anchor
//	         of the first target (compact <= 0.55x of it);
//	compact  the same with the client's default (the most compact form the
//	         model declares), bytes counted by the relay;
//	bytes    the relay's count of compact's upstream bytes pushed alone
//	         through the same link to a sink: the anchor of the second
//	         target (compact <= 1.1x of it).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcribe"
	"github.com/nemo-transcribe/nemo-transcribe/bench/internal/hoststeal"
	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lanbench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("lanbench", flag.ExitOnError)
	server := fs.String("server", "127.0.0.1:8001", "the devserver (behind the relay)")
	engineListen := fs.String("listen", "127.0.0.1:9000", "the relay's address for the engine (rate-limited by run.sh)")
	sinkListen := fs.String("listen-bytes", "127.0.0.1:9001", "the relay's address for the bytes-alone anchor (rate-limited likewise)")
	delay := fs.Duration("delay", time.Millisecond, "time the relay holds data, each direction")
	minutes := fs.Int("minutes", 20, "length of the recording")
	format := fs.String("format", "mp3", "the recording: mp3 (44.1 kHz stereo, 128 kb/s) or wav (16 kHz mono 16-bit)")
	rounds := fs.Int("rounds", 3, "rounds of each measurement (the median is reported)")
	dir := fs.String("dir", os.TempDir(), "where the fixture is kept between runs")
	profile := fs.String("cpuprofile", "", "write a CPU profile of the compact runs to this file")
	fs.Parse(args)

	fixture, err := makeFixture(*dir, *format, *minutes)
	if err != nil {
		return err
	}
	sink, err := startSink()
	if err != nil {
		return err
	}
	defer sink.Close()
	toServer, err := startRelay(*engineListen, *server, *delay)
	if err != nil {
		return err
	}
	defer toServer.Close()
	toSink, err := startRelay(*sinkListen, sink.Addr().String(), *delay)
	if err != nil {
		return err
	}
	defer toSink.Close()
	fmt.Printf("fixture: %d minutes of %s (%s); relay delay %v each way; %d rounds, medians\n", *minutes, *format, fixture, *delay, *rounds)

	var fp32, compact, alone, fp32Alone []float64
	var fp32Bytes, compactBytes int64
	var form string
	for r := range *rounds {
		steal0 := hoststeal.Now()
		wall, up, f, err := pipeline(toServer, fixture, models.InputAudio)
		if err != nil {
			return fmt.Errorf("fp32 run: %w", err)
		}
		fp32, fp32Bytes = append(fp32, wall), up
		fmt.Printf("round %d: fp32 (%s) %.2f s (bytes up from %.2f s to %.2f s), %.1f MB up, %.2f s CPU here\n", r+1, f, wall, firstSent, lastSent, mb(up), lastCPU)

		if *profile != "" {
			stop, err := startProfile(*profile)
			if err != nil {
				return err
			}
			defer stop()
		}
		wall, up, form, err = pipeline(toServer, fixture, "")
		if *profile != "" {
			pprof.StopCPUProfile()
		}
		if err != nil {
			return fmt.Errorf("compact run: %w", err)
		}
		compact, compactBytes = append(compact, wall), up
		fmt.Printf("round %d: compact (%s) %.2f s (bytes up from %.2f s to %.2f s), %.1f MB up, %.2f s CPU here\n", r+1, form, wall, firstSent, lastSent, mb(up), lastCPU)

		a, err := sendAlone(toSink.Addr().String(), compactBytes)
		if err != nil {
			return fmt.Errorf("bytes alone: %w", err)
		}
		alone = append(alone, a)
		b, err := sendAlone(toSink.Addr().String(), fp32Bytes)
		if err != nil {
			return fmt.Errorf("bytes alone: %w", err)
		}
		fp32Alone = append(fp32Alone, b)
		fmt.Printf("round %d: compact's %.1f MB alone %.2f s (%.1f Mb/s); fp32's %.1f MB alone %.2f s%s\n",
			r+1, mb(compactBytes), a, 8*mb(compactBytes)/a, mb(fp32Bytes), b, hoststeal.Now().Note(steal0))
	}
	f, c, a, b := median(fp32), median(compact), median(alone), median(fp32Alone)
	perHour := 60 / float64(*minutes)
	fmt.Printf("medians: fp32 pipeline %.2f s (its bytes alone %.2f s); compact (%s) pipeline %.2f s; compact bytes alone %.2f s\n", f, b, form, c, a)
	fmt.Printf("on the wire per hour: fp32 %.1f MB, %s %.1f MB (relay's upstream count, gRPC framing included)\n", perHour*mb(fp32Bytes), form, perHour*mb(compactBytes))
	fmt.Printf("compact / fp32 pipeline     = %.2fx (target at most 0.55x)\n", c/f)
	fmt.Printf("compact / its bytes alone   = %.2fx (target at most 1.1x)\n", c/a)
	return nil
}

// lastCPU is the CPU seconds of the last pipeline run: client, relay and
// ffmpeg (the devserver is another process).
var lastCPU float64

// lastSent is when, in seconds from the start, the last pipeline run's
// last byte towards the server reached the relay.
var lastSent, firstSent float64

func mb(n int64) float64 { return float64(n) / 1e6 }

// pipeline transcribes fixture once through the relay with the audio form
// forced to form ("" = the client's choice) and returns the wall time,
// the bytes the relay carried towards the server and the form used.
func pipeline(relay *relay, fixture, form string) (float64, int64, string, error) {
	work, err := os.MkdirTemp("", "lanbench-")
	if err != nil {
		return 0, 0, "", err
	}
	defer os.RemoveAll(work)
	addr := relay.Addr().String()
	cfg := inference.Config{Addresses: []string{addr}, AudioInput: form}
	e, err := transcribe.Open(transcribe.Config{DataDir: filepath.Join(work, "data"), CacheDir: filepath.Join(work, "cache"),
		Connect: func(string) (*inference.Server, error) { return inference.ConnectConfig(cfg) }})
	if err != nil {
		return 0, 0, "", err
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Discovery's bytes are not the audio's: open the model first.
	if err := e.OpenModel(ctx, addr, tritontest.DTMFModelName, nil); err != nil {
		return 0, 0, "", err
	}
	st, err := e.ServerStatus(ctx, addr)
	if err != nil {
		return 0, 0, "", err
	}
	used := ""
	for _, m := range st.Models {
		if m.Name == tritontest.DTMFModelName {
			used = m.AudioInput
		}
	}
	relay.firstNs.Store(0)
	before, cpu0 := relay.up.Load(), cpuTime()
	t0 := time.Now()
	_, err = e.Transcribe(ctx, transcribe.Request{Path: fixture, Server: addr, Model: tritontest.DTMFModelName,
		Timestamps: true, OutDir: filepath.Join(work, "out"), Formats: []string{"json", "srt"}}, nil)
	wall := time.Since(t0).Seconds()
	if err != nil {
		return 0, 0, "", err
	}
	lastCPU = (cpuTime() - cpu0).Seconds()
	firstSent = time.Unix(0, relay.firstNs.Load()).Sub(t0).Seconds()
	lastSent = time.Unix(0, relay.lastUpNs.Load()).Sub(t0).Seconds()
	return wall, relay.up.Load() - before, used, nil
}

// sendAlone pushes n bytes through the relay to the sink and returns the
// seconds until the sink says it has them all.
func sendAlone(addr string, n int64) (float64, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Minute))
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = byte(i * 7) // not all zeros, though nothing compresses here
	}
	t0 := time.Now()
	for left := n; left > 0; {
		k := min(left, int64(len(buf)))
		if _, err := c.Write(buf[:k]); err != nil {
			return 0, err
		}
		left -= k
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return 0, err
	}
	ack := make([]byte, 8)
	if _, err := io.ReadFull(c, ack); err != nil {
		return 0, fmt.Errorf("the sink's count: %w", err)
	}
	if got := int64(beUint64(ack)); got != n {
		return 0, fmt.Errorf("the sink got %d bytes of %d", got, n)
	}
	return time.Since(t0).Seconds(), nil
}

// startSink accepts connections, counts what each sends until EOF and
// answers the count (8 bytes, big-endian).
func startSink() (net.Listener, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				n, _ := io.Copy(io.Discard, c)
				var b [8]byte
				for i := range 8 {
					b[i] = byte(uint64(n) >> (56 - 8*i))
				}
				c.Write(b[:])
			}()
		}
	}()
	return l, nil
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b[:8] {
		v = v<<8 | uint64(x)
	}
	return v
}

// relay forwards every connection to target, each direction through a
// delay line: a piece read at t is written at t+delay, pieces keep their
// order and reading goes on meanwhile, so the delay adds latency without
// taking bandwidth (as netem's delay does).
type relay struct {
	net.Listener
	up       atomic.Int64 // bytes towards target, all connections
	lastUpNs atomic.Int64 // when the last of them was read (Unix ns)
	firstNs  atomic.Int64 // when the first after a reset was (0: none yet)
}

func startRelay(listen, target string, delay time.Duration) (*relay, error) {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("relay: %w (run.sh rate-limits this port; is another run using it?)", err)
	}
	r := &relay{Listener: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go r.serve(c, target, delay)
		}
	}()
	return r, nil
}

func (r *relay) serve(c net.Conn, target string, delay time.Duration) {
	defer c.Close()
	t, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	defer t.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); delayCopy(t, c, delay, r) }()
	go func() { defer wg.Done(); delayCopy(c, t, delay, nil) }()
	wg.Wait()
}

type piece struct {
	data []byte
	due  time.Time
}

// delayCopy copies src to dst through a delay line, then half-closes dst.
// count, when set, counts what is read.
func delayCopy(dst, src net.Conn, delay time.Duration, count *relay) {
	line := make(chan piece, 4096)
	go func() {
		defer close(line)
		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			if n > 0 {
				if count != nil {
					count.up.Add(int64(n))
					now := time.Now().UnixNano()
					count.lastUpNs.Store(now)
					count.firstNs.CompareAndSwap(0, now)
				}
				line <- piece{buf[:n], time.Now().Add(delay)}
			}
			if err != nil {
				return
			}
		}
	}()
	timer := time.NewTimer(0)
	for p := range line {
		if wait := time.Until(p.due); wait > 0 {
			timer.Reset(wait)
			<-timer.C
		}
		if _, err := dst.Write(p.data); err != nil {
			for range line { // let the reader finish
			}
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// makeFixture writes (once, kept in dir) minutes of quiet noise with a key
// press ("5") every 7.3 s, made by ffmpeg so that it never sits in memory.
func makeFixture(dir, format string, minutes int) (string, error) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return "", fmt.Errorf("needs ffmpeg (apt install ffmpeg): %w", err)
	}
	var enc []string
	switch format {
	case "mp3":
		enc = []string{"-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k"}
	case "wav":
		enc = []string{"-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le"}
	default:
		return "", fmt.Errorf("-format %q: use mp3 or wav", format)
	}
	path := filepath.Join(dir, fmt.Sprintf("lanbench-%dmin.%s", minutes, format))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	expr := "0.3*(sin(2*PI*770*t)+sin(2*PI*1336*t))*lt(mod(t,7.3),0.2)+0.02*(random(0)-0.5)"
	tmp := path + ".tmp." + format
	args := append([]string{"-v", "error", "-nostdin", "-f", "lavfi", "-i", fmt.Sprintf("aevalsrc='%s':s=44100:d=%d", expr, minutes*60)}, enc...)
	cmd := exec.Command(ffmpeg, append(args, "-y", tmp)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("making the fixture: %v: %s", err, stderr.String())
	}
	return path, os.Rename(tmp, path)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// startProfile starts a CPU profile into path (rewritten each call).
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}

// cpuTime is this process's and its children's (ffmpeg's) CPU time so far.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	return time.Duration(self.Utime.Nano() + self.Stime.Nano() + kids.Utime.Nano() + kids.Stime.Nano())
}
