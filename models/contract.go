// Package models holds the Triton model repository that serves NeMo and the
// model contract every model in it, the client and the test server share.
// Go code reads the contract from contract.json so that no side can drift.
package models

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

//go:embed contract.json
var contractJSON []byte

// Tensor is one input or output of the contract. Dims exclude the batch
// dimension, as in config.pbtxt.
type Tensor struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Dims     []int64 `json:"dims"`
	// Optional is config.pbtxt's optional: a request may leave the input
	// out. The audio inputs of an ASR model are all optional, and a
	// request carries exactly one of them.
	Optional bool `json:"optional,omitempty"`
}

// ModelContract is the parsed contract.json.
type ModelContract struct {
	MaxBatchSizeMin int      `json:"max_batch_size_min"`
	SampleRate      int      `json:"sample_rate"`
	Inputs          []Tensor `json:"inputs"`
	// CompactInputs are alternatives to AUDIO that carry the same 16-bit
	// samples in fewer bytes, least compact first. A model may declare
	// any of them; a request carries exactly one audio input.
	CompactInputs []Tensor          `json:"compact_inputs"`
	Outputs       []Tensor          `json:"outputs"`
	Parameters    map[string]string `json:"parameters"` // name -> "bool" | "string"
	// Speaker is the speaker-embedding contract, a second kind of model
	// the client talks to (diarization).
	Speaker SpeakerContract `json:"speaker"`
}

// SpeakerContract is the "speaker" section of contract.json: the tensors of
// a speaker-embedding model and the config.pbtxt parameters that describe
// it to the client.
type SpeakerContract struct {
	MaxBatchSizeMin int      `json:"max_batch_size_min"`
	SampleRate      int      `json:"sample_rate"`
	Inputs          []Tensor `json:"inputs"`
	Outputs         []Tensor `json:"outputs"`
	// ConfigParameters are the model's config.pbtxt parameters: name ->
	// the fixed value (kind) or its type ("int", "float").
	ConfigParameters map[string]string `json:"config_parameters"`
}

// Names of the contract's tensors and request parameters, checked against
// contract.json by this package's tests.
const (
	InputAudio       = "AUDIO"
	OutputTranscript = "TRANSCRIPT"
	OutputTimestamps = "TIMESTAMPS"
	ParamTimestamps  = "timestamps"
	ParamSourceLang  = "source_lang"
	ParamTargetLang  = "target_lang"
	ParamTask        = "task"
	ParamPNC         = "pnc"
	SampleRate       = 16000
	DatatypeFP32     = "FP32"
	DatatypeBytes    = "BYTES"

	// InputAudioPCM16 is INT16 [N] per chunk: the samples s of a 16-bit
	// source, which the model hears as s / 32768 (exactly AUDIO's value
	// for such a source), in half of AUDIO's bytes.
	InputAudioPCM16 = "AUDIO_PCM16"
	// InputAudioFLAC is BYTES [1] per chunk: one FLAC stream (16 kHz mono
	// 16-bit) of the chunk, decoded on the server to the samples of
	// InputAudioPCM16: lossless, and usually far fewer bytes.
	InputAudioFLAC = "AUDIO_FLAC"
	DatatypeINT16  = "INT16"
)

// AudioInputs are the contract's audio inputs of an ASR model, least
// compact first: AUDIO (FP32), then the compact forms. A request carries
// exactly one of them.
func (c ModelContract) AudioInputs() []Tensor {
	return append(append([]Tensor{}, c.Inputs...), c.CompactInputs...)
}

// Names of the speaker-embedding contract (contract.json's "speaker"),
// checked against it by this package's tests.
const (
	// InputSpans is INT64 [S, 2] per chunk: [start, end) sample offsets
	// within the chunk of the speech to embed.
	InputSpans = "SPANS"
	// OutputEmbeddings is FP32 [S, D] per chunk: one L2-normalised row per
	// span, or a zero row for a span the model cannot embed.
	OutputEmbeddings = "EMBEDDINGS"
	DatatypeINT64    = "INT64"

	// ParamKind is the config.pbtxt parameter that says what a model is;
	// KindSpeakerEmbedding marks a speaker-embedding model. ASR models
	// have no kind.
	ParamKind            = "kind"
	KindSpeakerEmbedding = "speaker_embedding"
	// ParamEmbeddingSize is D, the width of every EMBEDDINGS row.
	ParamEmbeddingSize = "embedding_size"
	// ParamMinSpanSeconds is the shortest span the model embeds; shorter
	// spans get a zero row.
	ParamMinSpanSeconds = "min_span_seconds"
	// ParamMaxSpans is the most spans one chunk (one row of AUDIO) may
	// carry; more is refused INVALID_ARGUMENT.
	ParamMaxSpans = "max_spans"
)

// SpeakerParameters are what a speaker-embedding model's config.pbtxt
// parameters tell the client.
type SpeakerParameters struct {
	EmbeddingSize  int     // D
	MinSpanSeconds float64 // shorter spans come back as zero rows
	MaxSpans       int     // per chunk
}

// MinSpanSamples is the shortest span, in samples at sampleRate, that gets
// an embedding: spans with end-start below it come back as zero rows.
func (p SpeakerParameters) MinSpanSamples(sampleRate int) int64 {
	return int64(math.Ceil(p.MinSpanSeconds*float64(sampleRate) - 1e-9))
}

// IsSpeakerModel reports whether config.pbtxt parameters (key -> string
// value) mark a speaker-embedding model.
func IsSpeakerModel(params map[string]string) bool {
	return strings.TrimSpace(params[ParamKind]) == KindSpeakerEmbedding
}

// ParseSpeakerParameters reads and checks a speaker-embedding model's
// config.pbtxt parameters (key -> string value).
func ParseSpeakerParameters(params map[string]string) (SpeakerParameters, error) {
	var p SpeakerParameters
	if !IsSpeakerModel(params) {
		return p, fmt.Errorf("parameter %s is %q, not %q", ParamKind, params[ParamKind], KindSpeakerEmbedding)
	}
	d, err := strconv.Atoi(strings.TrimSpace(params[ParamEmbeddingSize]))
	if err != nil || d < 1 {
		return p, fmt.Errorf("parameter %s is %q, want a positive integer", ParamEmbeddingSize, params[ParamEmbeddingSize])
	}
	m, err := strconv.ParseFloat(strings.TrimSpace(params[ParamMinSpanSeconds]), 64)
	if err != nil || m <= 0 || math.IsInf(m, 0) || math.IsNaN(m) {
		return p, fmt.Errorf("parameter %s is %q, want a positive number of seconds", ParamMinSpanSeconds, params[ParamMinSpanSeconds])
	}
	n, err := strconv.Atoi(strings.TrimSpace(params[ParamMaxSpans]))
	if err != nil || n < 1 {
		return p, fmt.Errorf("parameter %s is %q, want a positive integer", ParamMaxSpans, params[ParamMaxSpans])
	}
	return SpeakerParameters{EmbeddingSize: d, MinSpanSeconds: m, MaxSpans: n}, nil
}

// Contract returns a fresh copy of the contract.
func Contract() ModelContract {
	var c ModelContract
	if err := json.Unmarshal(contractJSON, &c); err != nil {
		panic(fmt.Sprintf("models/contract.json: %v", err)) // embedded at build time; tests catch it
	}
	return c
}
