package triton

import (
	"context"

	"google.golang.org/grpc"

	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// StreamInfer opens ModelStreamInfer on c's connection, for the external
// tests (the client itself has no streaming call yet).
func StreamInfer(ctx context.Context, c *Client) (grpc.BidiStreamingClient[pb.ModelInferRequest, pb.ModelStreamInferResponse], error) {
	return c.rpc.ModelStreamInfer(ctx)
}
