package transcribe

import (
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// Request is one file to transcribe and how. Its JSON form is what the
// store records as the job's settings.
type Request struct {
	Path     string   `json:"path"`     // the user's file; never modified
	Server   string   `json:"server"`   // host:port of Triton's gRPC endpoint
	Model    string   `json:"model"`    // model name on that server
	CacheDir string   `json:"cacheDir"` // where staged copies go; "" = the engine's
	OutDir   string   `json:"outDir"`   // where exports go; empty: no export
	Formats  []string `json:"formats"`  // export formats: json, srt, vtt, txt, csv, md
	// OutName is the exports' file name without extension; "" means the
	// input's. A Queue gives inputs that share a name distinct ones.
	OutName string `json:"outName,omitempty"`

	// Options sent to the model as request parameters.
	Timestamps bool   `json:"timestamps"`           // ask for word timestamps
	SourceLang string `json:"sourceLang,omitempty"` // language spoken ("" = not sent)
	TargetLang string `json:"targetLang,omitempty"` // language to write (translation models)
	Task       string `json:"task,omitempty"`       // "asr" (transcribe) or "ast" (translate); "" = not sent
	PNC        *bool  `json:"pnc,omitempty"`        // punctuation and capitalisation; nil = not sent

	// ChunkSeconds is the longest chunk sent to the model; 0 = the
	// engine's (30 s by default).
	ChunkSeconds float64 `json:"chunkSeconds,omitempty"`
	// Concurrency caps this file's own requests in flight within the
	// engine's shared pool; 0 = no cap beyond the pool.
	Concurrency int `json:"concurrency,omitempty"`
	// Force ignores a stored result and stored chunks: everything is sent
	// to the server again.
	Force bool `json:"force,omitempty"`
	// Overwrite replaces existing output files. Without it a different
	// existing file fails the job with *OutputExistsError (an identical
	// one is left as it is).
	Overwrite bool `json:"overwrite,omitempty"`
	// TXTTimestamps puts each segment's times in front of its txt line.
	TXTTimestamps bool `json:"txtTimestamps,omitempty"`

	// How the file is decoded (see package audio).
	// Decoder is "auto" (ffmpeg when installed, else the built-in
	// decoders), "builtin" or "ffmpeg"; "" = auto.
	Decoder string `json:"decoder,omitempty"`
	// FFmpegPath is the ffmpeg to run; "" = $NEMO_TRANSCRIBE_FFMPEG or
	// ffmpeg on PATH.
	FFmpegPath string `json:"ffmpegPath,omitempty"`
	// Channel keeps one channel of a multichannel file (0-based): one
	// side of an interview recorded on two channels. nil or negative
	// averages all channels.
	Channel *int `json:"channel,omitempty"`

	// Speakers asks for diarization (who said what); nil = off, the
	// default.
	Speakers *SpeakerOptions `json:"speakers,omitempty"`
}

// SpeakerOptions say how to find the speakers of one file. With Count 0
// the count is found from the audio, between Min and Max when they are
// set.
type SpeakerOptions struct {
	Count int `json:"count,omitempty"` // exactly this many; 0 = auto
	Min   int `json:"min,omitempty"`   // auto finds at least this many; 0 = 1
	Max   int `json:"max,omitempty"`   // auto finds at most this many; 0 = no cap
	// Model is the speaker-embedding model on the same server; "" = the
	// one the server lists (inference.FindSpeakerModel).
	Model string `json:"model,omitempty"`
}

// Diarization says how asking for speakers went.
type Diarization string

const (
	DiarizationNone   Diarization = ""       // not asked for
	DiarizationDone   Diarization = "done"   // every word has a speaker
	DiarizationFailed Diarization = "failed" // the transcript stands without speakers; see DiarizationError
)

// Stage names a step of one file's journey, as shown to the user. A job's
// state is its stage.
type Stage string

const (
	StageQueued       Stage = "queued"
	StageStaging      Stage = "staging"
	StageDecoding     Stage = "decoding"
	StageTranscribing Stage = "transcribing"
	StageExporting    Stage = "exporting"
	StageDone         Stage = "done"
	StageFailed       Stage = "failed"
	StageCancelled    Stage = "cancelled"
)

// Finished reports whether s is an end state.
func (s Stage) Finished() bool {
	return s == StageDone || s == StageFailed || s == StageCancelled
}

// Progress reports where one file is. Fraction runs 0..1 over the whole
// job and never goes back.
type Progress struct {
	JobID       JobID   `json:"jobId,omitempty"` // 0 outside a Queue
	Path        string  `json:"path"`
	Stage       Stage   `json:"stage"`
	ChunksDone  int     `json:"chunksDone"`
	ChunksTotal int     `json:"chunksTotal"` // 0 while unknown; an estimate until decoding ends
	Fraction    float64 `json:"fraction"`

	// ChunksReused counts chunks answered from the store, not the server.
	ChunksReused int `json:"chunksReused"`
	// AudioSeconds is the file's duration, 0 while unknown.
	AudioSeconds float64 `json:"audioSeconds"`
	// DoneSeconds is how much of the audio is transcribed.
	DoneSeconds float64 `json:"doneSeconds"`
	// RealtimeFactor is seconds of audio transcribed per second of wall
	// time by the server for this file (30 means thirty times faster than
	// real time); 0 while unknown.
	RealtimeFactor float64 `json:"realtimeFactor"`
	// ETASeconds is the estimated time left; -1 while unknown.
	ETASeconds float64 `json:"etaSeconds"`
	// Reused is true when the whole result came from the history.
	Reused bool `json:"reused,omitempty"`
	// Note is a passing remark, such as waiting for a model to load;
	// NoteText is it with its catalog key, for the UI's language.
	Note     string       `json:"note,omitempty"`
	NoteText *apperr.Text `json:"noteText,omitempty"`
}

// Result is a finished file: its transcript and the files written.
type Result struct {
	Transcript transcript.Transcript `json:"transcript"`
	Outputs    []string              `json:"outputs"`
	// HistoryID is the transcript's entry in the history; 0 without a store.
	HistoryID int64 `json:"historyId,omitempty"`
	// Reused is true when the result came from the history at once.
	Reused bool `json:"reused,omitempty"`
	// Warnings are problems that did not stop the job but that the user
	// should hear about, one sentence each: a file cut short, damage the
	// decoder skipped.
	Warnings []string `json:"warnings,omitempty"`
	// WarningTexts are Warnings for the UI, one for one, in its language
	// (apperr.Text).
	WarningTexts []apperr.Text `json:"warningTexts,omitempty"`
	// Diarization is how finding the speakers went, when asked for;
	// DiarizationError is the failure as one sentence for the user.
	Diarization      Diarization `json:"diarization,omitempty"`
	DiarizationError string      `json:"diarizationError,omitempty"`
}

// JobID names a job in a Queue.
type JobID int64

// Job is a snapshot of one queued file, as the UI shows it.
type Job struct {
	ID       JobID    `json:"id"`
	Request  Request  `json:"request"`
	State    Stage    `json:"state"`
	Progress Progress `json:"progress"`
	// Error is the failure as one sentence for the user; ErrorCode is
	// apperr's code for it ("" when not failed).
	Error     string `json:"error,omitempty"`
	ErrorCode string `json:"errorCode,omitempty"`
	// ErrorText is Error with its catalog key, for the UI's language.
	ErrorText *apperr.Text `json:"errorText,omitempty"`
	// ExistingOutputs are the files that made the job fail because they
	// exist (see OutputExistsError): the app asks whether to replace them
	// and calls RetryWith setting Request.Overwrite.
	ExistingOutputs []string `json:"existingOutputs,omitempty"`
	Outputs         []string `json:"outputs"`
	HistoryID       int64    `json:"historyId,omitempty"`
	Reused          bool     `json:"reused,omitempty"`
	// Warnings are the finished job's Result.Warnings.
	Warnings     []string      `json:"warnings,omitempty"`
	WarningTexts []apperr.Text `json:"warningTexts,omitempty"`
	// Diarization and DiarizationError are the finished job's.
	Diarization      Diarization `json:"diarization,omitempty"`
	DiarizationError string      `json:"diarizationError,omitempty"`
	// Attempts counts runs: 1, then one more for every Retry.
	Attempts int       `json:"attempts"`
	Added    time.Time `json:"added"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
}

// EventKind says what happened to a job.
type EventKind string

const (
	EventAdded   EventKind = "added"
	EventUpdated EventKind = "updated" // state or progress changed
	EventRemoved EventKind = "removed"
)

// Event is one change in a Queue, carrying the job's snapshot after it.
type Event struct {
	Kind EventKind `json:"kind"`
	Job  Job       `json:"job"`
}
