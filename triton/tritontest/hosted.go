package tritontest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// Model states as RepositoryIndex reports them.
const (
	stateReady       = "READY"
	stateLoading     = "LOADING"
	stateUnavailable = "UNAVAILABLE"
)

// hosted is one model with what the server derives from its config, its
// load state and its statistics.
type hosted struct {
	model Model
	cfg   *pb.ModelConfig
	meta  *pb.ModelMetadataResponse
	stats *stats

	batcher *batcher // nil: every request executes on its own

	mu       sync.Mutex
	readyAt  time.Time
	unloaded bool
	// onDisk: in the repository but never loaded (explicit model
	// control without --load-model): the index lists only its name.
	onDisk bool
	// loadError, when set, is why loading the model fails: it stays
	// UNAVAILABLE with this reason.
	loadError string
}

func newHosted(m Model, readyAt time.Time, b *Batching) *hosted {
	cfg := proto.Clone(m.Config()).(*pb.ModelConfig)
	h := &hosted{model: m, cfg: cfg, readyAt: readyAt, stats: newStats(cfg.GetName())}
	if b != nil && cfg.GetMaxBatchSize() > 0 {
		h.batcher = newBatcher(h, *b)
		// Say so in the config, as Triton's config.pbtxt would.
		cfg.SchedulingChoice = &pb.ModelConfig_DynamicBatching{DynamicBatching: &pb.ModelDynamicBatching{
			MaxQueueDelayMicroseconds: uint64(b.Window / time.Microsecond),
			DefaultQueuePolicy:        &pb.ModelQueuePolicy{MaxQueueSize: uint32(max(b.MaxQueue, 0))},
		}}
	}
	h.meta = &pb.ModelMetadataResponse{
		Name:     cfg.GetName(),
		Versions: []string{modelVersion},
		Platform: cfg.GetPlatform(),
	}
	if h.meta.Platform == "" {
		h.meta.Platform = cfg.GetBackend()
	}
	for _, in := range cfg.GetInput() {
		h.meta.Inputs = append(h.meta.Inputs, &pb.ModelMetadataResponse_TensorMetadata{
			Name: in.GetName(), Datatype: DatatypeName(in.GetDataType()), Shape: h.fullShape(in.GetDims()),
		})
	}
	for _, out := range cfg.GetOutput() {
		h.meta.Outputs = append(h.meta.Outputs, &pb.ModelMetadataResponse_TensorMetadata{
			Name: out.GetName(), Datatype: DatatypeName(out.GetDataType()), Shape: h.fullShape(out.GetDims()),
		})
	}
	return h
}

// fullShape is dims with the batch dimension (-1) in front when the model
// batches.
func (h *hosted) fullShape(dims []int64) []int64 {
	if h.cfg.GetMaxBatchSize() > 0 {
		return append([]int64{-1}, dims...)
	}
	return slices.Clone(dims)
}

// state returns the model's state and the reason for it; "" for a model
// that was never loaded, which Triton's index lists without a state.
func (h *hosted) state() (state, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.onDisk:
		return "", ""
	case h.loadError != "":
		return stateUnavailable, h.loadError
	case h.unloaded:
		return stateUnavailable, "unloaded"
	case time.Now().Before(h.readyAt):
		return stateLoading, fmt.Sprintf("loading, ready in %v", time.Until(h.readyAt).Round(time.Millisecond))
	}
	return stateReady, ""
}

// load marks the model loaded and returns how long until it is ready, or
// the reason its load fails.
func (h *hosted) load() (time.Duration, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onDisk = false
	if h.loadError != "" {
		return 0, errors.New(h.loadError)
	}
	h.unloaded = false
	return time.Until(h.readyAt), nil
}

func (h *hosted) unload() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.onDisk {
		h.unloaded = true
	}
}

// invalid is an INVALID_ARGUMENT error about a request, prefixed with its
// id as Triton prefixes request errors.
func invalid(req *pb.ModelInferRequest, format string, args ...any) error {
	id := req.GetId()
	if id == "" {
		id = "<id_unknown>"
	}
	return status.Errorf(codes.InvalidArgument, "[request id: %s] %s", id, fmt.Sprintf(format, args...))
}

// prepare validates a request against the model's config as Triton's core
// does and returns the inputs in config order, the custom parameters, the
// requested outputs (nil = all) and the batch size.
func (h *hosted) prepare(req *pb.ModelInferRequest) ([]Tensor, map[string]*pb.InferParameter, map[string]bool, int64, error) {
	name := h.cfg.GetName()
	params, err := customParams(req)
	if err != nil {
		return nil, nil, nil, 0, err
	}

	cfgIn := h.cfg.GetInput()
	reqIn := req.GetInputs()
	raw := req.GetRawInputContents()
	if len(raw) > 0 && len(raw) != len(reqIn) {
		return nil, nil, nil, 0, invalid(req, "expected %d raw_input_contents entries, one per input, but got %d for model '%s'", len(reqIn), len(raw), name)
	}
	required := 0
	for _, in := range cfgIn {
		if !in.GetOptional() {
			required++
		}
	}
	if len(reqIn) < required || len(reqIn) > len(cfgIn) {
		if required == len(cfgIn) {
			return nil, nil, nil, 0, invalid(req, "expected %d inputs but got %d inputs for model '%s'", len(cfgIn), len(reqIn), name)
		}
		// With optional inputs Triton's core names the range
		// (infer_request.cc); which optional inputs go together is the
		// backend's business, not the core's.
		return nil, nil, nil, 0, invalid(req, "expected number of inputs between %d and %d but got %d inputs for model '%s'", required, len(cfgIn), len(reqIn), name)
	}

	mbs := int64(h.cfg.GetMaxBatchSize())
	batch := int64(0) // 0 until the first input sets it
	tensors := make([]Tensor, len(cfgIn))
	seen := make([]bool, len(cfgIn))
	for i, in := range reqIn {
		k := slices.IndexFunc(cfgIn, func(c *pb.ModelInput) bool { return c.GetName() == in.GetName() })
		if k < 0 {
			return nil, nil, nil, 0, invalid(req, "unexpected inference input '%s' for model '%s'", in.GetName(), name)
		}
		if seen[k] {
			return nil, nil, nil, 0, invalid(req, "input '%s' was given more than once for model '%s'", in.GetName(), name)
		}
		seen[k] = true
		c := cfgIn[k]
		want := DatatypeName(c.GetDataType())
		if in.GetDatatype() != want {
			return nil, nil, nil, 0, invalid(req, "inference input '%s' data-type is '%s', but model '%s' expects '%s'", in.GetName(), in.GetDatatype(), name, want)
		}
		shape := in.GetShape()
		if !shapeMatches(shape, c.GetDims(), mbs > 0) {
			return nil, nil, nil, 0, invalid(req, "unexpected shape for input '%s' for model '%s'. Expected %s, got %s", in.GetName(), name, shapeString(h.fullShape(c.GetDims())), shapeString(shape))
		}
		if mbs > 0 {
			b := shape[0]
			switch {
			case b < 1:
				return nil, nil, nil, 0, invalid(req, "inference request batch-size must be >= 1 for '%s', got %d", name, b)
			case b > mbs:
				return nil, nil, nil, 0, invalid(req, "inference request batch-size must be <= %d for '%s'", mbs, name)
			case batch != 0 && b != batch:
				return nil, nil, nil, 0, invalid(req, "input '%s' has batch size %d but other inputs have %d for model '%s'", in.GetName(), b, batch, name)
			}
			batch = b
		}

		var data []byte
		switch {
		case len(raw) > 0 && in.GetContents() != nil:
			return nil, nil, nil, 0, invalid(req, "contents field must not be specified when using raw_input_contents for '%s' for model '%s'", in.GetName(), name)
		case len(raw) > 0:
			data = raw[i]
		case in.GetContents() == nil:
			return nil, nil, nil, 0, invalid(req, "unable to find data for input tensor '%s' for model '%s'", in.GetName(), name)
		default:
			if data, err = contentsToRaw(want, in.GetContents()); err != nil {
				return nil, nil, nil, 0, invalid(req, "input '%s' for model '%s': %v", in.GetName(), name, err)
			}
		}
		count := elementCount(shape)
		if size := elemSize(want); size > 0 {
			if int64(len(data)) != count*int64(size) {
				return nil, nil, nil, 0, invalid(req, "input byte size mismatch for input '%s' for model '%s'. Expected %d, got %d", in.GetName(), name, count*int64(size), len(data))
			}
		} else {
			elems, err := triton.DecodeBytes(data)
			if err != nil {
				return nil, nil, nil, 0, invalid(req, "input '%s' for model '%s': %v", in.GetName(), name, err)
			}
			if int64(len(elems)) != count {
				return nil, nil, nil, 0, invalid(req, "expected %d string elements for inference input '%s' for model '%s', got %d", count, in.GetName(), name, len(elems))
			}
		}
		tensors[k] = Tensor{Name: in.GetName(), Datatype: want, Shape: slices.Clone(shape), Data: data}
	}
	for k, c := range cfgIn {
		if !seen[k] && !c.GetOptional() {
			return nil, nil, nil, 0, invalid(req, "expected %d inputs but got %d inputs for model '%s': missing required input '%s'", len(cfgIn), len(reqIn), name, c.GetName())
		}
	}
	if mbs <= 0 {
		batch = 1
	}

	var want map[string]bool
	for _, out := range req.GetOutputs() {
		if !slices.ContainsFunc(h.cfg.GetOutput(), func(c *pb.ModelOutput) bool { return c.GetName() == out.GetName() }) {
			return nil, nil, nil, 0, invalid(req, "unexpected inference output '%s' for model '%s'", out.GetName(), name)
		}
		if want == nil {
			want = make(map[string]bool)
		}
		want[out.GetName()] = true
	}
	return tensors, params, want, batch, nil
}

// shapeMatches checks a request shape against config dims, with a leading
// batch dimension when batched. -1 in dims matches any size.
func shapeMatches(shape, dims []int64, batched bool) bool {
	if batched {
		if len(shape) != len(dims)+1 {
			return false
		}
		shape = shape[1:]
	}
	if len(shape) != len(dims) {
		return false
	}
	for i, d := range shape {
		if d < 0 || (dims[i] != -1 && dims[i] != d) {
			return false
		}
	}
	return true
}

func shapeString(shape []int64) string {
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(s, ",") + "]"
}

// reserved are the request parameters Triton's core consumes, with the
// parameter types it accepts for each.
var reserved = map[string]func(*pb.InferParameter) bool{
	"sequence_id":    func(p *pb.InferParameter) bool { return isInt64(p) || isString(p) || isUint64(p) },
	"sequence_start": isBool,
	"sequence_end":   isBool,
	"priority": func(p *pb.InferParameter) bool {
		return isUint64(p) || (isInt64(p) && p.GetInt64Param() >= 0)
	},
	"timeout":                            isInt64,
	"triton_enable_empty_final_response": isBool,
}

func isBool(p *pb.InferParameter) bool {
	_, ok := p.GetParameterChoice().(*pb.InferParameter_BoolParam)
	return ok
}

func isInt64(p *pb.InferParameter) bool {
	_, ok := p.GetParameterChoice().(*pb.InferParameter_Int64Param)
	return ok
}

func isUint64(p *pb.InferParameter) bool {
	_, ok := p.GetParameterChoice().(*pb.InferParameter_Uint64Param)
	return ok
}

func isString(p *pb.InferParameter) bool {
	_, ok := p.GetParameterChoice().(*pb.InferParameter_StringParam)
	return ok
}

// customParams checks the request's parameters and returns the custom ones
// (everything but Triton's reserved keys), which go to the model.
func customParams(req *pb.ModelInferRequest) (map[string]*pb.InferParameter, error) {
	out := make(map[string]*pb.InferParameter)
	for key, p := range req.GetParameters() {
		if ok, isReserved := reserved[key]; isReserved {
			if !ok(p) {
				return nil, invalid(req, "invalid type or value for reserved parameter '%s'", key)
			}
			continue
		}
		if strings.HasPrefix(key, "triton_") {
			return nil, invalid(req, "parameter keys starting with 'triton_' are reserved for Triton and must not be used: '%s'", key)
		}
		switch p.GetParameterChoice().(type) {
		case *pb.InferParameter_BoolParam, *pb.InferParameter_Int64Param,
			*pb.InferParameter_StringParam, *pb.InferParameter_DoubleParam:
			out[key] = p
		case *pb.InferParameter_Uint64Param:
			return nil, invalid(req, "parameter '%s': uint64_param is not supported for custom parameters, use int64_param, bool_param, string_param or double_param", key)
		default:
			return nil, invalid(req, "parameter '%s' has no value", key)
		}
	}
	return out, nil
}

// contentsToRaw serialises typed contents into the raw form: little-endian
// elements, BYTES length-prefixed.
func contentsToRaw(datatype string, c *pb.InferTensorContents) ([]byte, error) {
	var out []byte
	le := binary.LittleEndian
	switch datatype {
	case "BOOL":
		for _, v := range c.GetBoolContents() {
			b := byte(0)
			if v {
				b = 1
			}
			out = append(out, b)
		}
	case "INT8":
		for _, v := range c.GetIntContents() {
			out = append(out, byte(int8(v)))
		}
	case "INT16":
		for _, v := range c.GetIntContents() {
			out = le.AppendUint16(out, uint16(int16(v)))
		}
	case "INT32":
		for _, v := range c.GetIntContents() {
			out = le.AppendUint32(out, uint32(v))
		}
	case "INT64":
		for _, v := range c.GetInt64Contents() {
			out = le.AppendUint64(out, uint64(v))
		}
	case "UINT8":
		for _, v := range c.GetUintContents() {
			out = append(out, byte(v))
		}
	case "UINT16":
		for _, v := range c.GetUintContents() {
			out = le.AppendUint16(out, uint16(v))
		}
	case "UINT32":
		for _, v := range c.GetUintContents() {
			out = le.AppendUint32(out, v)
		}
	case "UINT64":
		for _, v := range c.GetUint64Contents() {
			out = le.AppendUint64(out, v)
		}
	case "FP32":
		out = make([]byte, 0, 4*len(c.GetFp32Contents()))
		for _, v := range c.GetFp32Contents() {
			out = le.AppendUint32(out, math.Float32bits(v))
		}
	case "FP64":
		for _, v := range c.GetFp64Contents() {
			out = le.AppendUint64(out, math.Float64bits(v))
		}
	case "BYTES":
		out = triton.EncodeBytes(c.GetBytesContents())
	default:
		return nil, fmt.Errorf("%s data can only be sent in raw_input_contents", datatype)
	}
	return out, nil
}

// response builds the answer from the model's outputs: the requested ones
// (all when want is nil) in the model's order, each checked against the
// config, data always in raw_output_contents.
func (h *hosted) response(req *pb.ModelInferRequest, outputs []Tensor, want map[string]bool) (*pb.ModelInferResponse, error) {
	name := h.cfg.GetName()
	resp := &pb.ModelInferResponse{ModelName: name, ModelVersion: modelVersion, Id: req.GetId()}
	produced := make(map[string]bool)
	for _, out := range outputs {
		k := slices.IndexFunc(h.cfg.GetOutput(), func(c *pb.ModelOutput) bool { return c.GetName() == out.Name })
		if k < 0 {
			return nil, status.Errorf(codes.Internal, "model '%s' produced output '%s' that its config does not declare", name, out.Name)
		}
		if dt := DatatypeName(h.cfg.GetOutput()[k].GetDataType()); out.Datatype != dt {
			return nil, status.Errorf(codes.Internal, "model '%s' produced output '%s' as %s, its config says %s", name, out.Name, out.Datatype, dt)
		}
		produced[out.Name] = true
		if want != nil && !want[out.Name] {
			continue
		}
		resp.Outputs = append(resp.Outputs, &pb.ModelInferResponse_InferOutputTensor{
			Name: out.Name, Datatype: out.Datatype, Shape: slices.Clone(out.Shape),
		})
		resp.RawOutputContents = append(resp.RawOutputContents, out.Data)
	}
	for n := range want {
		if !produced[n] {
			return nil, status.Errorf(codes.Internal, "model '%s' did not produce requested output '%s'", name, n)
		}
	}
	return resp, nil
}
