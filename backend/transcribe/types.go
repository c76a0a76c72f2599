package transcribe

import "github.com/nemo-transcribe/nemo-transcribe/backend/transcript"

// Request is one file to transcribe and how.
type Request struct {
	Path        string   // the user's file; never modified
	Server      string   // host:port of Triton's gRPC endpoint
	Model       string   // model name on that server
	CacheDir    string   // where staged copies go
	OutDir      string   // where exports go; empty: no export
	Formats     []string // export formats: json, srt, vtt, txt
	Timestamps  bool     // ask the model for word timestamps
	Concurrency int      // ModelInfer requests in flight; 0 = default
}

// Stage names a step of one file's journey, as shown to the user.
type Stage string

const (
	StageQueued       Stage = "queued"
	StageStaging      Stage = "staging"
	StageDecoding     Stage = "decoding"
	StageTranscribing Stage = "transcribing"
	StageExporting    Stage = "exporting"
	StageDone         Stage = "done"
	StageFailed       Stage = "failed"
)

// Progress reports where one file is. Fraction runs 0..1 over the whole job.
type Progress struct {
	Path        string  `json:"path"`
	Stage       Stage   `json:"stage"`
	ChunksDone  int     `json:"chunksDone"`
	ChunksTotal int     `json:"chunksTotal"` // 0 while unknown
	Fraction    float64 `json:"fraction"`
}

// Result is a finished file: its transcript and the files written.
type Result struct {
	Transcript transcript.Transcript `json:"transcript"`
	Outputs    []string              `json:"outputs"`
}
