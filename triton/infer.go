package triton

import (
	"context"
	"fmt"
	"sort"

	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// Input is one input tensor with its data already laid out as raw bytes
// (see EncodeFP32 and EncodeBytes).
type Input struct {
	Name     string
	Datatype string
	Shape    []int64
	Raw      []byte
}

// InferRequest is one ModelInfer call.
type InferRequest struct {
	Model   string
	Version string // "" = as the server's policy picks
	ID      string // echoed back by the server; useful in its logs
	Inputs  []Input
	Outputs []string // names to return; empty = every output
	// Params are request parameters. Values must be bool, int, int64,
	// float64 or string: Triton refuses uint64 for custom keys.
	Params map[string]any
}

// Output is one output tensor, raw as the server sent it.
type Output struct {
	Name     string
	Datatype string
	Shape    []int64
	Raw      []byte
}

// InferResult holds a response's outputs by name: Triton orders outputs as
// the backend allocated them, so position means nothing.
type InferResult struct {
	Model   string
	Version string
	ID      string
	Outputs map[string]Output
}

// Bytes decodes a BYTES output into its elements.
func (r *InferResult) Bytes(name string) ([][]byte, error) {
	o, ok := r.Outputs[name]
	if !ok {
		return nil, fmt.Errorf("response has no output %q (has %v)", name, r.outputNames())
	}
	if o.Datatype != "BYTES" {
		return nil, fmt.Errorf("output %q is %s, not BYTES", name, o.Datatype)
	}
	return DecodeBytes(o.Raw)
}

func (r *InferResult) outputNames() []string {
	names := make([]string, 0, len(r.Outputs))
	for n := range r.Outputs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Infer sends one request. The caller's context carries the deadline: an
// inference's fair time depends on how much audio it carries.
func (c *Client) Infer(ctx context.Context, req InferRequest) (*InferResult, error) {
	msg, err := buildInferRequest(req)
	if err != nil {
		return nil, err
	}
	r, err := c.rpc.ModelInfer(ctx, msg)
	if err != nil {
		return nil, c.wrap(ctx, "ModelInfer", err)
	}
	return parseInferResponse(r)
}

func buildInferRequest(req InferRequest) (*pb.ModelInferRequest, error) {
	msg := &pb.ModelInferRequest{ModelName: req.Model, ModelVersion: req.Version, Id: req.ID}
	if len(req.Params) > 0 {
		msg.Parameters = make(map[string]*pb.InferParameter, len(req.Params))
		for k, v := range req.Params {
			p, err := inferParameter(v)
			if err != nil {
				return nil, fmt.Errorf("request parameter %q: %w", k, err)
			}
			msg.Parameters[k] = p
		}
	}
	for _, in := range req.Inputs {
		msg.Inputs = append(msg.Inputs, &pb.ModelInferRequest_InferInputTensor{
			Name: in.Name, Datatype: in.Datatype, Shape: in.Shape,
		})
		msg.RawInputContents = append(msg.RawInputContents, in.Raw)
	}
	for _, name := range req.Outputs {
		msg.Outputs = append(msg.Outputs, &pb.ModelInferRequest_InferRequestedOutputTensor{Name: name})
	}
	return msg, nil
}

func inferParameter(v any) (*pb.InferParameter, error) {
	switch x := v.(type) {
	case bool:
		return &pb.InferParameter{ParameterChoice: &pb.InferParameter_BoolParam{BoolParam: x}}, nil
	case int:
		return &pb.InferParameter{ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: int64(x)}}, nil
	case int64:
		return &pb.InferParameter{ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: x}}, nil
	case float64:
		return &pb.InferParameter{ParameterChoice: &pb.InferParameter_DoubleParam{DoubleParam: x}}, nil
	case string:
		return &pb.InferParameter{ParameterChoice: &pb.InferParameter_StringParam{StringParam: x}}, nil
	}
	return nil, fmt.Errorf("type %T is not one Triton accepts (bool, int64, float64, string)", v)
}

func parseInferResponse(r *pb.ModelInferResponse) (*InferResult, error) {
	res := &InferResult{Model: r.GetModelName(), Version: r.GetModelVersion(), ID: r.GetId(),
		Outputs: make(map[string]Output, len(r.GetOutputs()))}
	raw := r.GetRawOutputContents()
	for i, o := range r.GetOutputs() {
		out := Output{Name: o.GetName(), Datatype: o.GetDatatype(), Shape: o.GetShape()}
		switch {
		case i < len(raw):
			out.Raw = raw[i]
		case o.GetContents() != nil && o.GetDatatype() == "BYTES":
			// Triton fills raw_output_contents, but the protocol allows typed
			// contents; accept BYTES there too.
			out.Raw = EncodeBytes(o.GetContents().GetBytesContents())
		default:
			return nil, fmt.Errorf("response output %q carries no data", o.GetName())
		}
		res.Outputs[out.Name] = out
	}
	return res, nil
}
