package inference

import (
	"cmp"
	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"slices"

	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// ServerStatus is what `status --json` prints and the app's server panel
// shows. JSON keys are part of the CLI's public contract: fields may be
// added, never renamed.
type ServerStatus struct {
	Address    string        `json:"address"`
	Live       bool          `json:"live"`
	Ready      bool          `json:"ready"`
	Name       string        `json:"name"`
	Version    string        `json:"version"`
	Models     []ModelStatus `json:"models"`
	Extensions []string      `json:"extensions,omitempty"` // protocol extensions the server implements
	TLS        bool          `json:"tls"`                  // the connection is encrypted
	// Replicas are the status of each address when several are set; the
	// fields above then sum them up.
	Replicas []ServerStatus `json:"replicas,omitempty"`
	Error    string         `json:"error,omitempty"` // in a replica: why it did not answer
}

// ModelStatus is one model the server's repository lists.
type ModelStatus struct {
	Name           string   `json:"name"`
	Ready          bool     `json:"ready"`
	State          string   `json:"state"`
	Versions       []string `json:"versions"`
	InferenceCount uint64   `json:"inference_count"`
	ExecutionCount uint64   `json:"execution_count"`
	SuccessCount   uint64   `json:"success_count"`
	FailureCount   uint64   `json:"failure_count"`
	QueueNs        uint64   `json:"queue_ns"`
	ComputeInferNs uint64   `json:"compute_infer_ns"`

	Reason string `json:"reason,omitempty"` // why the model is in its state, e.g. a load error
	// Instances is how many copies of a ready model execute at once (its
	// instance groups' counts, times the GPUs each lists); 0 when not ready.
	Instances int `json:"instances,omitempty"`
	// Kind is what a ready model is, from its config's "kind" parameter:
	// "speaker_embedding" for a speaker model, "" for speech recognition.
	Kind string `json:"kind,omitempty"`
	// AudioInput is the input this client sends a ready speech model's
	// audio as: "AUDIO_FLAC", "AUDIO_PCM16" or "AUDIO" (FP32); "" for a
	// speaker model or one that does not fit the contract.
	AudioInput string `json:"audio_input,omitempty"`
	// Warnings are what the client works around for this model, such as
	// a compact audio input declared with the wrong datatype or shape.
	Warnings []string `json:"warnings,omitempty"`
	// WarningTexts are Warnings for the UI, in its language (apperr.Text).
	WarningTexts    []apperr.Text `json:"warning_texts,omitempty"`
	ComputeInputNs  uint64        `json:"compute_input_ns"`
	ComputeOutputNs uint64        `json:"compute_output_ns"`
	LastInferenceMs uint64        `json:"last_inference_ms"` // ms since the Unix epoch; 0 = never
	BatchStats      []BatchStats  `json:"batch_stats,omitempty"`
}

// BatchStats counts the model's executions of one batch size: with a
// dynamic batcher, requests executed together.
type BatchStats struct {
	BatchSize      uint64 `json:"batch_size"`
	ExecutionCount uint64 `json:"execution_count"`
	ComputeInferNs uint64 `json:"compute_infer_ns"`
}

// add sums one version's statistics into m.
func (m *ModelStatus) add(ms *pb.ModelStatistics) {
	is := ms.GetInferenceStats()
	m.InferenceCount += ms.GetInferenceCount()
	m.ExecutionCount += ms.GetExecutionCount()
	m.SuccessCount += is.GetSuccess().GetCount()
	m.FailureCount += is.GetFail().GetCount()
	m.QueueNs += is.GetQueue().GetNs()
	m.ComputeInferNs += is.GetComputeInfer().GetNs()
	m.ComputeInputNs += is.GetComputeInput().GetNs()
	m.ComputeOutputNs += is.GetComputeOutput().GetNs()
	m.LastInferenceMs = max(m.LastInferenceMs, ms.GetLastInference())
	for _, b := range ms.GetBatchStats() {
		m.addBatch(BatchStats{BatchSize: b.GetBatchSize(), ExecutionCount: b.GetComputeInfer().GetCount(), ComputeInferNs: b.GetComputeInfer().GetNs()})
	}
}

func (m *ModelStatus) addBatch(b BatchStats) {
	i := slices.IndexFunc(m.BatchStats, func(x BatchStats) bool { return x.BatchSize == b.BatchSize })
	if i < 0 {
		m.BatchStats = append(m.BatchStats, b)
		slices.SortFunc(m.BatchStats, func(x, y BatchStats) int { return int(x.BatchSize) - int(y.BatchSize) })
		return
	}
	m.BatchStats[i].ExecutionCount += b.ExecutionCount
	m.BatchStats[i].ComputeInferNs += b.ComputeInferNs
}

// merge adds another replica's view of the same model.
func (m *ModelStatus) merge(o ModelStatus) {
	m.Ready = m.Ready || o.Ready
	m.Instances += o.Instances
	if m.AudioInput == "" || (o.AudioInput != "" && slices.Index(audioPreference, o.AudioInput) > slices.Index(audioPreference, m.AudioInput)) {
		// Replicas that differ: the least compact form any of them takes.
		m.AudioInput = cmp.Or(o.AudioInput, m.AudioInput)
	}
	for i, w := range o.Warnings {
		if !slices.Contains(m.Warnings, w) {
			m.Warnings = append(m.Warnings, w)
			if i < len(o.WarningTexts) {
				m.WarningTexts = append(m.WarningTexts, o.WarningTexts[i])
			}
		}
	}
	if o.State == "READY" || m.State == "" {
		m.State, m.Reason = o.State, o.Reason
	}
	for _, v := range o.Versions {
		if !slices.Contains(m.Versions, v) {
			m.Versions = append(m.Versions, v)
		}
	}
	m.InferenceCount += o.InferenceCount
	m.ExecutionCount += o.ExecutionCount
	m.SuccessCount += o.SuccessCount
	m.FailureCount += o.FailureCount
	m.QueueNs += o.QueueNs
	m.ComputeInferNs += o.ComputeInferNs
	m.ComputeInputNs += o.ComputeInputNs
	m.ComputeOutputNs += o.ComputeOutputNs
	m.LastInferenceMs = max(m.LastInferenceMs, o.LastInferenceMs)
	for _, b := range o.BatchStats {
		m.addBatch(b)
	}
}
