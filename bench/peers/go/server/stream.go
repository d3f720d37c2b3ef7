package main

import (
	"context"
	"io"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "tickwire.bench/peers/go/tickwirev1"
)

// batchInterval is the indicator cadence (Tickwire's --indicator-interval).
const batchInterval = 100 * time.Millisecond

// priceStream serves tickwire.v1.PriceStream/StreamPrices.
type priceStream struct {
	pb.UnimplementedPriceStreamServer
	hub *hub
}

// streamBounds are the optional ends a client asks for in metadata
// (tickwire-stream-duration, tickwire-stream-messages), as docs/wire-api.md says.
type streamBounds struct {
	duration time.Duration
	messages int64
}

func boundsOf(ctx context.Context) (streamBounds, error) {
	var b streamBounds
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("tickwire-stream-duration"); len(v) > 0 {
		d, err := time.ParseDuration(v[0])
		if err != nil || d <= 0 {
			return b, status.Errorf(codes.InvalidArgument, "tickwire-stream-duration: %q is not a positive Go duration", v[0])
		}
		b.duration = d
	}
	if v := md.Get("tickwire-stream-messages"); len(v) > 0 {
		n, err := strconv.ParseInt(v[0], 10, 32)
		if err != nil || n < 1 {
			return b, status.Errorf(codes.InvalidArgument, "tickwire-stream-messages: %q is not 1 to 2147483647", v[0])
		}
		b.messages = n
	}
	return b, nil
}

// StreamPrices runs one stream: a goroutine reads requests and hands them to
// this one, which alone sends (grpc-go allows one sender per stream) prices
// from the hub, statuses and the 100 ms SMA batches.
func (p *priceStream) StreamPrices(stream pb.PriceStream_StreamPricesServer) error {
	bounds, err := boundsOf(stream.Context())
	if err != nil {
		return err
	}
	ctx := stream.Context()
	if bounds.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, bounds.duration)
		defer cancel()
	}
	requests, recvErr := make(chan *pb.IndicatorRequest, 16), make(chan error, 1)
	go func() {
		for {
			req, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case requests <- req:
			case <-ctx.Done():
				return
			}
		}
	}()

	sub := p.hub.subscribe()
	defer p.hub.unsubscribe(sub)
	ticker := time.NewTicker(batchInterval)
	defer ticker.Stop()
	subs := subscriptions{}
	var sent int64
	for {
		select {
		case msg := <-sub.prices:
			if err := stream.Send(msg); err != nil {
				return err
			}
			if sent++; bounds.messages > 0 && sent >= bounds.messages {
				return nil
			}
		case req := <-requests:
			st := subs.apply(req, p.hub.history)
			if err := stream.Send(&pb.StreamResponse{Payload: &pb.StreamResponse_Status{Status: st}}); err != nil {
				return err
			}
		case <-ticker.C:
			if batch := subs.batch(p.hub.history); batch != nil {
				if err := stream.Send(batch); err != nil {
					return err
				}
			}
		case err := <-recvErr:
			if err != io.EOF {
				return err
			}
			recvErr = nil // half-close does not end the call
		case <-ctx.Done():
			if bounds.duration > 0 && ctx.Err() == context.DeadlineExceeded && stream.Context().Err() == nil {
				return nil // the client's own duration bound: end with OK
			}
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}
