package tritontest

import (
	"context"

	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// Model is one model the test server hosts. The server does everything
// Triton's core does before and after a backend runs (lookup, readiness,
// request validation, output selection, statistics); a Model only computes.
type Model interface {
	// Config is the model's configuration as config.pbtxt would give it.
	// Its Name is the model's name. The server reads it once, in New.
	Config() *pb.ModelConfig
	// Execute runs one request. inputs follow the order of Config().Input
	// and have been validated against it (datatype, shape with the batch
	// dimension first when max_batch_size > 0, byte size). params are the
	// request's custom parameters (Triton's reserved keys removed). It
	// returns the model's outputs; the server keeps the ones the client
	// asked for. An error that is a gRPC status keeps its code, any other
	// becomes INTERNAL.
	Execute(ctx context.Context, inputs []Tensor, params map[string]*pb.InferParameter) ([]Tensor, error)
}

// Tensor is an input or output of one execution in the form the protocol
// carries it: Data is row-major and little-endian, BYTES elements each a
// 4-byte little-endian length followed by the bytes.
type Tensor struct {
	Name     string
	Datatype string // protocol datatype: "FP32", "BYTES", ...
	Shape    []int64
	Data     []byte
}

// datatypeNames maps config data types to protocol datatype strings.
var datatypeNames = map[pb.DataType]string{
	pb.DataType_TYPE_BOOL:   "BOOL",
	pb.DataType_TYPE_UINT8:  "UINT8",
	pb.DataType_TYPE_UINT16: "UINT16",
	pb.DataType_TYPE_UINT32: "UINT32",
	pb.DataType_TYPE_UINT64: "UINT64",
	pb.DataType_TYPE_INT8:   "INT8",
	pb.DataType_TYPE_INT16:  "INT16",
	pb.DataType_TYPE_INT32:  "INT32",
	pb.DataType_TYPE_INT64:  "INT64",
	pb.DataType_TYPE_FP16:   "FP16",
	pb.DataType_TYPE_FP32:   "FP32",
	pb.DataType_TYPE_FP64:   "FP64",
	pb.DataType_TYPE_STRING: "BYTES",
	pb.DataType_TYPE_BF16:   "BF16",
}

// DatatypeName returns the protocol datatype string of a config data type
// (TYPE_STRING is "BYTES"), or "INVALID".
func DatatypeName(t pb.DataType) string {
	if s, ok := datatypeNames[t]; ok {
		return s
	}
	return "INVALID"
}

// DataTypeOf returns the config data type of a protocol datatype string, or
// TYPE_INVALID.
func DataTypeOf(name string) pb.DataType {
	for t, s := range datatypeNames {
		if s == name {
			return t
		}
	}
	return pb.DataType_TYPE_INVALID
}

// elemSize is the size in bytes of one element, 0 for BYTES (variable) and
// -1 for an unknown datatype.
func elemSize(datatype string) int {
	switch datatype {
	case "BOOL", "UINT8", "INT8":
		return 1
	case "UINT16", "INT16", "FP16", "BF16":
		return 2
	case "UINT32", "INT32", "FP32":
		return 4
	case "UINT64", "INT64", "FP64":
		return 8
	case "BYTES":
		return 0
	}
	return -1
}

// maxElements caps elementCount so that count*8 cannot overflow; no
// request can carry that much data.
const maxElements = 1 << 53

// elementCount is the product of shape (non-negative dims), at most
// maxElements.
func elementCount(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		if d != 0 && n > maxElements/d {
			return maxElements
		}
		n *= d
	}
	return n
}
