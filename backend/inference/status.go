package inference

// ServerStatus is what `status --json` prints and the app's server panel
// shows. JSON keys are part of the CLI's public contract.
type ServerStatus struct {
	Address string        `json:"address"`
	Live    bool          `json:"live"`
	Ready   bool          `json:"ready"`
	Name    string        `json:"name"`
	Version string        `json:"version"`
	Models  []ModelStatus `json:"models"`
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
}
