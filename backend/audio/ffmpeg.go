package audio

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// The ffmpeg path: ffprobe (or "ffmpeg -i") learns the audio stream and its
// length, then ffmpeg decodes it, mixes it to mono and resamples it to
// 16 kHz, writing raw float32 to its standard output, which Read consumes.
// Both run from an argument list, never through a shell, with the file
// given as a "file:" URL so that no name is taken for an option or a
// protocol.

// probeTimeout bounds how long probing a file may take.
const probeTimeout = 60 * time.Second

// ffTools are the executables of the ffmpeg path.
type ffTools struct {
	ffmpeg  string // "" when the built-in decoders are to be used
	ffprobe string // "" when "ffmpeg -i" probes instead
}

// findFFmpeg decides between ffmpeg and the built-in decoders.
func findFFmpeg(opts Options) (ffTools, error) {
	env := strings.TrimSpace(os.Getenv(FFmpegEnv))
	envOff := strings.EqualFold(env, "off")
	mode := opts.Decoder
	switch {
	case mode == DecoderAuto && envOff:
		return ffTools{}, nil
	case mode == DecoderBuiltin:
		return ffTools{}, nil
	case mode != DecoderAuto && mode != DecoderFFmpeg:
		return ffTools{}, fmt.Errorf("%w: decoder mode %d", ErrInvalidOptions, mode)
	}
	path, explicit := opts.FFmpegPath, opts.FFmpegPath != ""
	if !explicit && env != "" && !envOff {
		path, explicit = env, true
	}
	if path == "" {
		path = "ffmpeg"
	}
	exe, err := exec.LookPath(path)
	if err != nil {
		if explicit {
			return ffTools{}, fmt.Errorf("%w: ffmpeg not found at %s: %v", ErrFFmpeg, path, err)
		}
		if mode == DecoderFFmpeg {
			return ffTools{}, fmt.Errorf("%w: ffmpeg is not installed: %s", ErrFFmpeg, installHint())
		}
		return ffTools{}, nil
	}
	t := ffTools{ffmpeg: exe}
	beside := filepath.Join(filepath.Dir(exe), "ffprobe"+filepath.Ext(exe))
	if p, err := exec.LookPath(beside); err == nil {
		t.ffprobe = p
	} else if !explicit {
		if p, err := exec.LookPath("ffprobe"); err == nil {
			t.ffprobe = p
		}
	}
	return t, nil
}

// probeInfo is what probing learnt about a file's first audio stream.
type probeInfo struct {
	format   string // ffmpeg's name of the container
	codec    string
	index    int // the stream's index in the file
	rate     int
	channels int
	// duration in seconds, 0 when unknown; estimated when ffmpeg guessed
	// it from the bitrate.
	duration  float64
	estimated bool
	// frames is the exact length in frames, or -1.
	frames int64
	others []string // codec types of the other streams, for messages
}

// fileURL turns a path into the "file:" URL ffmpeg reads without
// interpreting the name.
func fileURL(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return "file:" + path
}

// probe learns the first audio stream of path, with ffprobe when it is
// there and with "ffmpeg -i" otherwise.
func probe(t ffTools, path string, kind fileKind) (probeInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	if t.ffprobe == "" {
		return probeWithFFmpeg(ctx, t.ffmpeg, path, kind)
	}
	cmd := exec.CommandContext(ctx, t.ffprobe, "-hide_banner", "-v", "warning", "-print_format", "json",
		"-show_entries", "format=format_name,duration:stream=index,codec_type,codec_name,sample_rate,channels,duration,duration_ts,time_base",
		"-i", fileURL(path))
	hideWindow(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &limitedBuffer{max: 64 << 10, buf: &stderr}
	if err := cmd.Run(); err != nil {
		return probeInfo{}, probeError(err, stderr.String(), path, kind, ctx)
	}
	var out struct {
		Streams []struct {
			Index      int    `json:"index"`
			CodecType  string `json:"codec_type"`
			CodecName  string `json:"codec_name"`
			SampleRate string `json:"sample_rate"`
			Channels   int    `json:"channels"`
			Duration   string `json:"duration"`
			DurationTS int64  `json:"duration_ts"`
			TimeBase   string `json:"time_base"`
		} `json:"streams"`
		Format struct {
			FormatName string `json:"format_name"`
			Duration   string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return probeInfo{}, fmt.Errorf("%w: ffprobe printed what it should not: %v", ErrFFmpeg, err)
	}
	p := probeInfo{format: out.Format.FormatName, index: -1, frames: -1}
	p.estimated = strings.Contains(stderr.String(), "Estimating duration from bitrate")
	for _, s := range out.Streams {
		if s.CodecType != "audio" || p.index >= 0 {
			p.others = append(p.others, s.CodecType)
			continue
		}
		p.index, p.codec, p.channels = s.Index, s.CodecName, s.Channels
		p.rate, _ = strconv.Atoi(s.SampleRate)
		p.duration = parseSeconds(s.Duration)
		if p.rate > 0 && s.TimeBase == "1/"+s.SampleRate && s.DurationTS > 0 && losslessCodec(s.CodecName) {
			p.frames = s.DurationTS
		}
	}
	if p.duration == 0 {
		p.duration = parseSeconds(out.Format.Duration)
	}
	return p, checkProbe(p, kind)
}

// losslessCodec reports codecs whose stream length ffprobe knows exactly.
func losslessCodec(c string) bool {
	return strings.HasPrefix(c, "pcm_") || c == "flac" || c == "alac" || c == "wavpack" || c == "tta"
}

func parseSeconds(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0
	}
	return v
}

// checkProbe refuses files with no usable audio stream.
func checkProbe(p probeInfo, kind fileKind) error {
	what := kind.name
	if what == "" {
		what = p.format + " file"
	}
	if p.index < 0 {
		holds := "no streams at all"
		if len(p.others) > 0 {
			holds = "only " + strings.Join(dedupe(p.others), " and ")
		}
		return &multiError{
			msg:  fmt.Sprintf("no audio stream in this %s (it holds %s)", what, holds),
			errs: []error{ErrUnsupportedFormat, ErrNoAudio},
		}
	}
	if p.rate <= 0 || p.channels <= 0 || p.codec == "" || p.codec == "none" {
		codec := p.codec
		if codec == "" || codec == "none" {
			codec = "an unknown codec"
		}
		return fmt.Errorf("%w: the audio of this %s is in %s, which this ffmpeg cannot decode", ErrUnsupportedFormat, what, codec)
	}
	return nil
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if v == "" {
			v = "data"
		}
		found := false
		for _, o := range out {
			found = found || o == v
		}
		if !found {
			out = append(out, v)
		}
	}
	return out
}

// probeError turns a failed probe into an error about the file.
func probeError(err error, stderr, path string, kind fileKind, ctx context.Context) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: probing the file took longer than %v", ErrFFmpeg, probeTimeout)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("%w: cannot run it: %v", ErrFFmpeg, err)
	}
	msg := lastLine(stderr, path)
	if msg == "" {
		msg = err.Error()
	}
	if mediaKind(kind.name) {
		return fmt.Errorf("%w: damaged %s: ffmpeg says %q", ErrCorrupt, kind.name, msg)
	}
	return fmt.Errorf("%w: not a media file ffmpeg can read (ffmpeg says %q)", ErrUnsupportedFormat, msg)
}

// mediaKind reports a sniffed name that is an audio or video format (so a
// failure to read it means damage, not a wrong kind of file).
func mediaKind(name string) bool {
	switch name {
	case "", "image", "WebP image", "PDF document", "ZIP archive", "MIDI", "RIFF (not WAVE)":
		return false
	}
	return true
}

// lastLine is the last non-empty line of ffmpeg's messages, without the
// file's name (the user never sees the staged copy's path).
func lastLine(s, path string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		l = strings.ReplaceAll(l, fileURL(path)+": ", "")
		l = strings.ReplaceAll(l, fileURL(path), "the file")
		if l != "" {
			return l
		}
	}
	return ""
}

var (
	reDuration = regexp.MustCompile(`Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)`)
	reInput    = regexp.MustCompile(`Input #0, ([^ ]+), from`)
	reStream   = regexp.MustCompile(`Stream #0:(\d+)[^:]*: (\w+): ?(.*)`)
	reAudio    = regexp.MustCompile(`^([\w-]+)[^,]*, (\d+) Hz, ([^,]+)`)
)

// probeWithFFmpeg reads what "ffmpeg -i FILE" prints, for installs that
// ship ffmpeg without ffprobe.
func probeWithFFmpeg(ctx context.Context, ffmpeg, path string, kind fileKind) (probeInfo, error) {
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-i", fileURL(path))
	hideWindow(cmd)
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{max: 256 << 10, buf: &stderr}
	err := cmd.Run() // always fails: no output file was given
	text := stderr.String()
	m := reInput.FindStringSubmatch(text)
	if m == nil {
		if err == nil {
			err = errors.New("no input description")
		}
		return probeInfo{}, probeError(err, text, path, kind, ctx)
	}
	return parseFFmpegInfo(text, kind)
}

// parseFFmpegInfo reads the input description "ffmpeg -i" prints.
func parseFFmpegInfo(text string, kind fileKind) (probeInfo, error) {
	p := probeInfo{index: -1, frames: -1}
	if m := reInput.FindStringSubmatch(text); m != nil {
		p.format = m[1]
	}
	if m := reDuration.FindStringSubmatch(text); m != nil {
		h, _ := strconv.Atoi(m[1])
		mi, _ := strconv.Atoi(m[2])
		s, _ := strconv.ParseFloat(m[3], 64)
		p.duration = float64(h*3600+mi*60) + s
	}
	p.estimated = strings.Contains(text, "Estimating duration from bitrate")
	for _, line := range strings.Split(text, "\n") {
		m := reStream.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		typ := strings.ToLower(m[2])
		if typ != "audio" || p.index >= 0 {
			p.others = append(p.others, typ)
			continue
		}
		p.index, _ = strconv.Atoi(m[1])
		a := reAudio.FindStringSubmatch(m[3])
		if a == nil {
			continue
		}
		p.codec = a[1]
		p.rate, _ = strconv.Atoi(a[2])
		p.channels = layoutChannels(a[3])
	}
	return p, checkProbe(p, kind)
}

// layoutChannels counts the channels of an ffmpeg channel layout name.
func layoutChannels(s string) int {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '('); i > 0 {
		s = s[:i]
	}
	switch s {
	case "mono":
		return 1
	case "stereo", "downmix":
		return 2
	case "2.1", "3.0", "3.0(back)":
		return 3
	case "4.0", "quad", "3.1", "2.2":
		return 4
	case "5.0", "4.1":
		return 5
	case "5.1", "6.0", "hexagonal":
		return 6
	case "6.1", "7.0", "7.0(front)":
		return 7
	case "7.1", "octagonal", "7.1(wide)", "cube":
		return 8
	case "hexadecagonal":
		return 16
	}
	var n int
	if _, err := fmt.Sscanf(s, "%d channels", &n); err == nil {
		return n
	}
	return 0
}

// panFilter is the ffmpeg filter that mixes the way MixAverage and
// MixChannel do; "" for a mono source.
func panFilter(channels, sel int) string {
	if sel >= 0 {
		return fmt.Sprintf("pan=mono|c0=c%d", sel)
	}
	if channels == 1 {
		return ""
	}
	g := strconv.FormatFloat(1/float64(channels), 'g', -1, 64)
	var b strings.Builder
	b.WriteString("pan=mono|c0=")
	for c := range channels {
		if c > 0 {
			b.WriteByte('+')
		}
		fmt.Fprintf(&b, "%s*c%d", g, c)
	}
	return b.String()
}

// streamSpec names stream index for -map; a negative index (a file whose
// headers we read ourselves) is its first audio stream.
func streamSpec(index int) string {
	if index < 0 {
		return "0:a:0"
	}
	return fmt.Sprintf("0:%d", index)
}

// ffmpegArgs is the command line that decodes stream p.index of path to
// 16 kHz mono float32 on standard output. aresample's first_pts=0 with
// async=1 pads a stream that starts late (audio after the video's start)
// with silence, so times stay those of the file; its filter is ffmpeg's
// default (Kaiser, 32 taps, cutoff 0.97), which ours matches. Samples are
// converted to planar float, which pan and the resampler work on: packed
// float gives the same output but costs a conversion each way (2-3% of
// ffmpeg's time on FLAC).
func ffmpegArgs(path string, p probeInfo, sel int) []string {
	filter := "aformat=sample_fmts=fltp"
	if pan := panFilter(p.channels, sel); pan != "" {
		filter += "," + pan
	}
	filter += fmt.Sprintf(",aresample=%d:async=1:first_pts=0", SampleRate)
	return []string{
		"-nostdin", "-hide_banner", "-nostats", "-v", "error",
		"-threads", strconv.Itoa(decodeThreads(runtime.NumCPU())),
		"-i", fileURL(path),
		"-map", streamSpec(p.index), "-vn", "-sn", "-dn",
		"-af", filter,
		"-f", "f32le", "-c:a", "pcm_f32le", "-ar", strconv.Itoa(SampleRate), "-ac", "1",
		// Write in 32 KiB blocks, not one small write per packet: many
		// fewer wake-ups on both ends of the pipe.
		"-flush_packets", "0",
		"pipe:1",
	}
}

// decodeThreads is how many threads ffmpeg's decoder may use on a machine
// with cpus cores: all but one, which is left to us reading its output.
// Only frame-threaded decoders (FLAC among the common formats) use more
// than one; left to itself ffmpeg starts cores+1 of them, which on two
// cores crowd out ffmpeg's own filter thread and our reader: for 10
// minutes of FLAC that cost about 0.1 s more CPU (15%) for no gain in wall
// time on an idle machine, and about 10% more wall time on a busy one.
// With the pipe polled (pipe_linux.go) one thread is still best on two
// idle cores: 0.43 s for those 10 minutes, against 0.45 s with three
// threads and 0.49 s with two.
func decodeThreads(cpus int) int {
	return max(1, cpus-1)
}

// headerProbe is what our own parsers learn from the headers of the
// formats the built-in decoders read: enough to run ffmpeg without
// starting ffprobe first (one process less per file).
type headerProbe struct {
	probeInfo
	name      string // our name of the format
	bits      int
	truncated bool // the header declares more than the file holds
}

// probeHeaders reads the stream facts of WAV, FLAC, MP3 (MPEG-1 layer III),
// Ogg Vorbis, Ogg Opus and AAC in MP4/M4A/MOV files from their headers; ok
// is false for other files and for anything unusual, which ffprobe then
// looks at.
func probeHeaders(f *os.File, kind fileKind) (hp headerProbe, ok bool) {
	hp.index, hp.frames = -1, -1
	if _, err := f.Seek(kind.offset, io.SeekStart); err != nil {
		return hp, false
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil {
		size = fi.Size() - kind.offset
	}
	head := make([]byte, 1<<16)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	switch kind.name {
	case kindWAV:
		cr := &countingReader{br: bufio.NewReader(bytes.NewReader(head))}
		h, err := parseWAVHeader(cr, true)
		if err != nil || size < 0 {
			return hp, false
		}
		ba := int64(h.format.blockAlign)
		avail := max(0, size-h.dataOffset) / ba
		hp.frames = h.dataSize / ba
		switch {
		case h.dataSize < 0:
			hp.frames = avail
		case avail < hp.frames:
			hp.frames, hp.truncated = avail, true
		}
		hp.name, hp.codec, hp.bits = h.format.name(), "pcm", h.format.validBits
		hp.rate, hp.channels = h.format.rate, h.format.channels
	case kindFLAC:
		if len(head) < 42 || string(head[:4]) != "fLaC" || head[4]&0x7F != 0 {
			return hp, false
		}
		si := head[8:]
		hp.rate = int(si[10])<<12 | int(si[11])<<4 | int(si[12]>>4)
		hp.channels = int(si[12]>>1&7) + 1
		hp.bits = int(si[12]&1)<<4 | int(si[13]>>4) + 1
		if total := int64(si[13]&0x0F)<<32 | int64(binary.BigEndian.Uint32(si[14:18])); total > 0 {
			hp.frames = total
		}
		hp.name, hp.codec = "flac", "flac"
	case kindMP3:
		for i := 0; i+4 <= len(head); i++ {
			if layer, found := mpegAudioAt(head, i); found && layer == "MP3" {
				h, _ := parseMPEGHeader(head[i:])
				tag := parseMP3Tag(head[i:])
				hp.rate, hp.channels = h.rate, h.channels
				switch {
				case tag.frames >= 0 && tag.delay >= 0:
					hp.frames = max(0, tag.frames*int64(h.samples)-int64(tag.delay)-int64(tag.padding))
					hp.duration = float64(hp.frames) / float64(h.rate)
				case size > 0 && h.bitrate > 0:
					hp.duration = float64(size-int64(i)) * 8 / float64(h.bitrate)
					hp.estimated = !tag.present
				}
				hp.name, hp.codec = "mp3", "mp3"
				break
			}
		}
		if hp.name == "" {
			return hp, false
		}
	case kindVorbis, kindOpus:
		o := newOggReader(bytes.NewReader(head))
		p, _, err := o.nextPacket()
		if err != nil {
			return hp, false
		}
		last := oggLastGranule(f, size+kind.offset, o.serial)
		if kind.name == kindOpus {
			h, err := parseOpusHead(p)
			if err != nil {
				return hp, false
			}
			hp.rate, hp.channels, hp.name, hp.codec = opusRate, h.channels, "ogg/opus", "opus"
			if last >= int64(h.preSkip) {
				hp.duration = float64(last-int64(h.preSkip)) / opusRate
			}
		} else {
			if len(p) < 16 {
				return hp, false
			}
			hp.channels = int(p[11])
			hp.rate = int(binary.LittleEndian.Uint32(p[12:]))
			hp.name, hp.codec = "ogg/vorbis", "vorbis"
			if last > 0 && hp.rate > 0 {
				hp.duration = float64(last) / float64(hp.rate)
			}
		}
	case "MP4", "MP4/M4A", "M4A/AAC", "QuickTime video", "3GP":
		if size < 0 {
			return hp, false
		}
		a, err := parseMP4Audio(io.NewSectionReader(f, kind.offset, size), size)
		if err != nil {
			return hp, false
		}
		hp.rate, hp.channels, hp.codec, hp.duration = a.rate, a.channels, a.codec, a.duration
		hp.name = mp4FormatName + "/" + a.codec
	default:
		return hp, false
	}
	if hp.rate < minSourceRate || hp.rate > maxSourceRate || hp.channels < 1 || hp.channels > maxChannels {
		return hp, false
	}
	if hp.frames >= 0 {
		hp.duration = float64(hp.frames) / float64(hp.rate)
	}
	hp.format = hp.name
	return hp, true
}

// mp4FormatName is ffmpeg's name of the ISO media demuxer, which ffprobe
// reports for these files: Info.Format stays the same whichever probed.
const mp4FormatName = "mov,mp4,m4a,3gp,3g2,mj2"

// openFFmpeg learns the stream (from the headers we read ourselves, else
// with ffprobe) and starts ffmpeg on it.
func openFFmpeg(f *os.File, path string, kind fileKind, sel int, t ffTools, opts Options) (*Decoder, error) {
	hp, ok := probeHeaders(f, kind)
	if ok && opts.Decoder == DecoderAuto && exactBuiltin(hp) {
		if _, err := f.Seek(0, io.SeekStart); err == nil {
			if d, err := openBuiltin(f, kind, sel); err == nil {
				d.closer = f
				return d, nil
			}
		}
	}
	f.Close() // ffmpeg opens the file itself
	p := hp.probeInfo
	if !ok {
		var err error
		if p, err = probe(t, path, kind); err != nil {
			return nil, err
		}
		hp = headerProbe{probeInfo: p}
	}
	if sel >= p.channels {
		return nil, fmt.Errorf("%w: channel %d of a %d-channel file", ErrInvalidOptions, sel, p.channels)
	}
	format := p.format
	if hp.name != "" {
		format = hp.name
	} else if p.codec != "" {
		format += "/" + p.codec
	}
	info := Info{
		Format:        format,
		Decoder:       "ffmpeg",
		SourceRate:    p.rate,
		Channels:      p.channels,
		BitsPerSample: hp.bits,
		Frames:        -1,
		Samples:       -1,
		Duration:      p.duration,
		Truncated:     hp.truncated,
	}
	s := &ffmpegSource{want: -1, rate: p.rate, path: path, declaredTrunc: hp.truncated}
	if p.frames >= 0 && (hp.name == "" || losslessCodec(p.codec) || p.codec == "pcm" || p.codec == "flac") {
		// A count of frames in a lossless stream: the length is exact.
		info.Frames = p.frames
		info.Duration = float64(p.frames) / float64(p.rate)
		info.Samples = (p.frames*SampleRate + int64(p.rate) - 1) / int64(p.rate)
		s.want, s.exact = info.Samples, true
	} else if p.duration > 0 && !p.estimated {
		s.want = int64(math.Round(p.duration * SampleRate))
	}
	if ok && parallelKind(hp) {
		if n := parallelRanges(opts, p.duration); n > 1 {
			return openParallel(t, path, hp, sel, n, info)
		}
	}
	if ok && batchable(p.duration) {
		s.stderr = &limitedBuffer{max: 16 << 10, buf: &bytes.Buffer{}, keepTail: true}
		bs := &batchedSource{bf: shortFiles.add(t.ffmpeg, ffmpegArgs(path, p, sel)), s: s}
		return &Decoder{info: info, src: bs}, nil
	}
	if err := s.start(t.ffmpeg, ffmpegArgs(path, p, sel)); err != nil {
		return nil, err
	}
	return &Decoder{info: info, src: s}, nil
}

// exactBuiltin reports a file that is already what the pipeline wants
// (16 kHz, mono, 16-bit PCM in WAV or FLAC): with nothing to resample or
// mix, ffmpeg's samples are the built-in decoder's s/32768 bit for bit,
// so an ffmpeg process (tens of milliseconds of CPU to start, more than
// a short file's decoding) buys nothing. Options.Decoder = DecoderFFmpeg
// still runs ffmpeg.
func exactBuiltin(hp headerProbe) bool {
	if hp.rate != SampleRate || hp.channels != 1 || hp.bits != 16 || hp.truncated {
		return false
	}
	return hp.name == "flac" || hp.name == "wav/pcm16"
}

// ffmpegSource reads ffmpeg's output: 16 kHz mono float32, little-endian.
type ffmpegSource struct {
	path string
	rate int // the source's rate, for Info
	// want is the number of samples expected, or -1; exact says it comes
	// from a header that counts frames (WAV, FLAC), so the stream is made
	// exactly that long (ffmpeg's resampler may end a sample early or
	// late) and any shortfall is a truncation.
	want          int64
	exact         bool
	declaredTrunc bool // the header says more than the file holds

	cmd    *exec.Cmd
	out    io.ReadCloser
	stderr *limitedBuffer
	raw    []byte // ffmpeg's bytes, on big-endian machines

	delivered int64
	ended     bool // ffmpeg's output is exhausted
	waited    bool
	short     bool // delivered less than want: truncated
	err       error
	once      sync.Once
}

func (s *ffmpegSource) start(ffmpeg string, args []string) error {
	s.cmd = exec.Command(ffmpeg, args...)
	hideWindow(s.cmd)
	s.stderr = &limitedBuffer{max: 16 << 10, buf: &bytes.Buffer{}, keepTail: true}
	s.cmd.Stderr = s.stderr
	out, w, err := outputPipe(s.cmd)
	if err != nil {
		return fmt.Errorf("%w: cannot make a pipe for ffmpeg: %v", ErrFFmpeg, err)
	}
	err = s.cmd.Start()
	if w != nil {
		w.Close() // ffmpeg holds it now; ours would keep the pipe from ending
	}
	if err != nil {
		out.Close()
		return fmt.Errorf("%w: cannot run %s: %v", ErrFFmpeg, ffmpeg, err)
	}
	s.out = out
	return nil
}

// readSamples is the most one read asks of ffmpeg's output: 256 KiB.
const readSamples = 1 << 16

// readFloats fills dst with the next samples of ffmpeg's output, stopping
// early only at its end. On little-endian machines the pipe is read
// straight into dst, saving a copy and a conversion of every sample.
func (s *ffmpegSource) readFloats(dst []float32) (int, error) {
	if !littleEndian {
		if cap(s.raw) < 4*len(dst) {
			s.raw = make([]byte, 4*len(dst))
		}
		raw := s.raw[:4*len(dst)]
		n, err := io.ReadFull(s.out, raw)
		for i := range n / 4 {
			dst[i] = clampSample(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
		}
		return n / 4, err
	}
	n, err := io.ReadFull(s.out, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*len(dst)))
	got := n / 4
	for i, v := range dst[:got] {
		if v > 1 || v < -1 || v != v {
			dst[i] = clampSample(v)
		}
	}
	return got, err
}

// littleEndian reports whether float32s are stored as ffmpeg's f32le.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// padLimit is how many samples ffmpeg's resampler may miss at the end of a
// file of known length without that counting as a truncation.
const padLimit = 4

func (s *ffmpegSource) readMono(dst []float32) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.ended {
		// Pad the last samples ffmpeg's resampler left off.
		if s.exact && s.delivered < s.want && s.want-s.delivered <= padLimit {
			n := int(min(int64(len(dst)), s.want-s.delivered))
			clear(dst[:n])
			s.delivered += int64(n)
			return n, nil
		}
		return 0, io.EOF
	}
	k := min(len(dst), readSamples)
	if s.exact {
		k = int(min(int64(k), max(1, s.want-s.delivered)))
	}
	got, err := s.readFloats(dst[:k])
	if s.exact && s.delivered+int64(got) > s.want {
		got = int(s.want - s.delivered)
	}
	s.delivered += int64(got)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		s.ended = true
		if werr := s.wait(); werr != nil {
			s.err = werr
			return got, werr
		}
		s.checkLength()
		if got == 0 {
			return s.readMono(dst)
		}
		return got, nil
	case err != nil:
		s.err = fmt.Errorf("%w: reading its output: %v", ErrFFmpeg, err)
		return got, s.err
	}
	if s.exact && s.delivered >= s.want {
		// The rest is the resampler's overshoot: drain it so ffmpeg ends.
		io.Copy(io.Discard, s.out)
		s.ended = true
		if werr := s.wait(); werr != nil {
			s.err = werr
			return got, werr
		}
	}
	return got, nil
}

// checkLength decides whether the stream came out short of what the file
// announced.
func (s *ffmpegSource) checkLength() {
	s.short = fellShort(s.want, s.delivered, s.exact)
}

// wait reaps ffmpeg and turns a failure into an error about the file.
func (s *ffmpegSource) wait() error {
	if s.waited {
		return nil
	}
	s.waited = true
	err := s.cmd.Wait()
	if err == nil {
		return nil
	}
	msg := lastLine(s.stderr.String(), s.path)
	if msg == "" {
		msg = err.Error()
	}
	return fmt.Errorf("%w: ffmpeg stopped decoding after %.2f s: %s", ErrCorrupt, float64(s.delivered)/SampleRate, msg)
}

func (s *ffmpegSource) status() sourceStatus {
	st := sourceStatus{frames: s.delivered, truncated: s.declaredTrunc || s.short}
	switch {
	case st.truncated:
		st.warning = fmt.Errorf("audio: %w file: it holds %.2f s of audio but announces %.2f s",
			ErrTruncated, float64(s.delivered)/SampleRate, float64(s.want)/SampleRate)
		if s.declaredTrunc && s.exact {
			st.warning = fmt.Errorf("audio: %w file: the header declares more audio than the file holds (%.2f s are present)",
				ErrTruncated, float64(s.want)/SampleRate)
		}
	case s.ended && s.stderr.Len() > 0:
		st.warning = fmt.Errorf("audio: %w: ffmpeg reported damage and decoded around it: %s", ErrCorrupt, lastLine(s.stderr.String(), s.path))
	}
	return st
}

// finishInfo makes Info describe what was delivered.
func (s *ffmpegSource) finishInfo(info *Info) { describeDelivered(info, s.delivered, s.short) }

// fellShort reports whether delivered samples fall short of the want
// announced (-1: nothing announced): by more than ffmpeg's resampler pad
// when the length is exact, else by more than container durations are
// off, 0.2 s and 0.5 %.
func fellShort(want, delivered int64, exact bool) bool {
	if want < 0 {
		return false
	}
	missing := want - delivered
	if exact {
		return missing > padLimit
	}
	return float64(missing) > max(0.2*SampleRate, 0.005*float64(want))
}

// describeDelivered makes info describe the delivered samples: their
// count, and the duration they make when the stream fell short or the
// header gave no length.
func describeDelivered(info *Info, delivered int64, short bool) {
	info.Samples = delivered
	if short || info.Frames < 0 {
		info.Frames = -1
		info.Duration = float64(delivered) / SampleRate
	}
	if short {
		info.Truncated = true
	}
}

// Close stops ffmpeg if it is still running and reaps it.
func (s *ffmpegSource) Close() error {
	s.once.Do(func() {
		if !s.waited && s.cmd != nil && s.cmd.Process != nil {
			s.cmd.Process.Kill()
			s.out.Close()
			s.waited = true
			s.cmd.Wait()
		}
	})
	return nil
}

// limitedBuffer collects at most max bytes of a child's messages: the
// first ones, or with keepTail the latest ones.
type limitedBuffer struct {
	mu       sync.Mutex
	max      int
	buf      *bytes.Buffer
	keepTail bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(p)
	if l.keepTail {
		l.buf.Write(p)
		if over := l.buf.Len() - l.max; over > 0 {
			rest := append([]byte(nil), l.buf.Bytes()[over:]...)
			l.buf.Reset()
			l.buf.Write(rest)
		}
		return n, nil
	}
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return n, nil
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *limitedBuffer) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Len()
}
