// Package models holds the Triton model repository that serves NeMo and the
// model contract every model in it, the client and the test server share.
// Go code reads the contract from contract.json so that no side can drift.
package models

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed contract.json
var contractJSON []byte

// Tensor is one input or output of the contract. Dims exclude the batch
// dimension, as in config.pbtxt.
type Tensor struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Dims     []int64 `json:"dims"`
}

// ModelContract is the parsed contract.json.
type ModelContract struct {
	MaxBatchSizeMin int               `json:"max_batch_size_min"`
	SampleRate      int               `json:"sample_rate"`
	Inputs          []Tensor          `json:"inputs"`
	Outputs         []Tensor          `json:"outputs"`
	Parameters      map[string]string `json:"parameters"` // name -> "bool" | "string"
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
)

// Contract returns a fresh copy of the contract.
func Contract() ModelContract {
	var c ModelContract
	if err := json.Unmarshal(contractJSON, &c); err != nil {
		panic(fmt.Sprintf("models/contract.json: %v", err)) // embedded at build time; tests catch it
	}
	return c
}
