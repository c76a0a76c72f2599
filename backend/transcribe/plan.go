package transcribe

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/audio"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
)

// pipelineVersion changes when decoding or chunking changes what a chunk
// holds, so results stored by an older build are not taken for new ones.
// (Stored chunks are also checked sample by sample, see audioHash.)
// 2: the chunker's cut rule changed; channel and decoder choice joined the
// key.
const pipelineVersion = 2

// chunkPlan is how a file is cut: everything that decides chunk
// boundaries.
type chunkPlan struct {
	MaxSeconds    float64 `json:"maxSeconds"`
	SearchSeconds float64 `json:"searchSeconds"`
	FrameMs       int     `json:"frameMs"`
	SilenceDBFS   float64 `json:"silenceDBFS"`
}

func newChunkPlan(maxSeconds float64) chunkPlan {
	return chunkPlan{
		MaxSeconds:    maxSeconds,
		SearchSeconds: math.Min(audio.DefaultSearchSeconds, maxSeconds/2),
		FrameMs:       audio.DefaultFrameMs,
		SilenceDBFS:   audio.DefaultSilenceDBFS,
	}
}

func (c chunkPlan) options() audio.ChunkOptions {
	return audio.ChunkOptions{MaxSeconds: c.MaxSeconds, SearchSeconds: c.SearchSeconds, FrameMs: c.FrameMs, SilenceDBFS: c.SilenceDBFS}
}

// modelOptions is the JSON of the options sent to the model, as stored
// with each result.
type modelOptions struct {
	Timestamps bool   `json:"timestamps"`
	SourceLang string `json:"sourceLang,omitempty"`
	TargetLang string `json:"targetLang,omitempty"`
	Task       string `json:"task,omitempty"`
	PNC        *bool  `json:"pnc,omitempty"`
}

func requestOptions(req Request) inference.Options {
	return inference.Options{Timestamps: req.Timestamps, SourceLang: req.SourceLang, TargetLang: req.TargetLang, Task: req.Task, PNC: req.PNC}
}

// decodeOptions are the request's settings that change the samples
// decoded: which channel, and which decoder (ffmpeg and the built-in ones
// resample differently). FFmpegPath is left out: another copy of ffmpeg
// is the same decoder.
type decodeOptions struct {
	Channel *int   `json:"channel,omitempty"` // nil: all channels averaged
	Decoder string `json:"decoder,omitempty"` // "" = auto
}

// audioOptions reads the request's decoding settings; a bad decoder name
// is the user's error.
func audioOptions(req Request) (audio.Options, decodeOptions, error) {
	var key decodeOptions
	var opts audio.Options
	if req.Decoder != "" {
		mode, err := audio.ParseDecoderMode(req.Decoder)
		if err != nil {
			return opts, key, apperr.New(apperr.CodeBadInput, err, "decoder %q: use auto, builtin or ffmpeg", req.Decoder)
		}
		opts.Decoder = mode
		if mode != audio.DecoderAuto {
			key.Decoder = mode.String()
		}
	}
	opts.FFmpegPath = req.FFmpegPath
	if req.Channel != nil && *req.Channel >= 0 {
		ch := *req.Channel
		opts.Mix, opts.Channel = audio.MixChannel, ch
		key.Channel = &ch
	}
	return opts, key, nil
}

func storedOptions(o inference.Options) modelOptions {
	return modelOptions{Timestamps: o.Timestamps, SourceLang: o.SourceLang, TargetLang: o.TargetLang, Task: o.Task, PNC: o.PNC}
}

// planKey names one request's result: the same content, sent to the same
// server and model version with the same options, cut the same way, gives
// the same chunks and the same transcript. Chunks and transcripts are
// stored under it.
func planKey(sha string, server string, model, version string, opts inference.Options, dec decodeOptions, plan chunkPlan) string {
	data, _ := json.Marshal(struct {
		V       int           `json:"v"`
		SHA256  string        `json:"sha256"`
		Server  string        `json:"server"`
		Model   string        `json:"model"`
		Version string        `json:"version"`
		Options modelOptions  `json:"options"`
		Decode  decodeOptions `json:"decode"`
		Plan    chunkPlan     `json:"plan"`
	}{pipelineVersion, sha, normalizeServer(server), model, version, storedOptions(opts), dec, plan})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// normalizeServer makes "LocalHost:8001 " and "localhost:8001" one server.
func normalizeServer(addr string) string { return strings.ToLower(strings.TrimSpace(addr)) }

// audioHash fingerprints a chunk's samples, so a stored result is reused
// only for exactly the same audio. It is FNV-1a over the float bits in
// four interleaved lanes, folded at the end: one lane is a chain of
// dependent multiplies, about 0.1 s of CPU for an hour of audio, and four
// independent chains run side by side. The "4:" tells it from the one-lane
// hashes stored before; those simply no longer match.
func audioHash(samples []float32) string {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := [4]uint64{offset64, offset64 ^ 1, offset64 ^ 2, offset64 ^ 3}
	i := 0
	for ; i+4 <= len(samples); i += 4 {
		q := samples[i : i+4 : i+4]
		h[0] = (h[0] ^ uint64(math.Float32bits(q[0]))) * prime64
		h[1] = (h[1] ^ uint64(math.Float32bits(q[1]))) * prime64
		h[2] = (h[2] ^ uint64(math.Float32bits(q[2]))) * prime64
		h[3] = (h[3] ^ uint64(math.Float32bits(q[3]))) * prime64
	}
	for ; i < len(samples); i++ {
		h[0] = (h[0] ^ uint64(math.Float32bits(samples[i]))) * prime64
	}
	sum := uint64(offset64)
	for _, v := range h {
		for range 8 {
			sum = (sum ^ v&0xff) * prime64
			v >>= 8
		}
	}
	return "4:" + strconv.FormatUint(sum, 16) + "/" + strconv.Itoa(len(samples))
}
