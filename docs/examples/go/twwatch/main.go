// Command twwatch (Go, grpc-go) subscribes to RSI(14) of one symbol on a
// Tickwire server's StreamPrices stream, and prints every price and indicator
// value until Ctrl-C, the server ending the stream, or -count N messages
// (prices and indicator batches).
//
//	twwatch [--target HOST:PORT] [--symbol SYMBOL] [--count N]
//
// Written for grpc-go 1.33 (Debian 12), so it dials with grpc.Dial and
// grpc.WithInsecure; from grpc-go 1.63 on, grpc.NewClient with
// insecure.NewCredentials() is the modern spelling.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "tickwire/v1" // the .proto's go_package; docs/examples/go/build.sh generates it
)

func main() {
	target := flag.String("target", "127.0.0.1:50051", "Tickwire gRPC address, HOST:PORT")
	symbol := flag.String("symbol", "btcusdt", "symbol of the indicator")
	count := flag.Int("count", 0, "stop after N prices and indicator batches (0: until Ctrl-C)")
	flag.Parse()

	// Ctrl-C (or SIGTERM) cancels the context, and with it the call.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	conn, err := grpc.Dial(*target, grpc.WithInsecure())
	if err != nil {
		log.Fatalf("dial %s: %v", *target, err)
	}
	defer conn.Close()

	stream, err := pb.NewPriceStreamClient(conn).StreamPrices(ctx)
	if err != nil {
		log.Fatalf("open stream: %v", err)
	}
	// The send side stays open: more requests may follow at any time.
	err = stream.Send(&pb.IndicatorRequest{
		Action:    pb.IndicatorRequest_ACTION_SUBSCRIBE,
		Symbol:    *symbol,
		Type:      pb.IndicatorType_INDICATOR_TYPE_RSI,
		Period:    14,
		RequestId: "rsi14",
	})
	if err != nil && !errors.Is(err, io.EOF) { // io.EOF: the call ended; Recv says why
		log.Fatalf("subscribe: %v", err)
	}

	prices, batches := receive(stream, *count)
	fmt.Printf("done: %d prices, %d indicator batches\n", prices, batches)
}

// receive prints the stream's messages until the count is reached or the call
// ends, and returns how many prices and indicator batches it printed.
func receive(stream pb.PriceStream_StreamPricesClient, count int) (prices, batches int) {
	for count == 0 || prices+batches < count {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			fmt.Println("stream ended: OK")
			return
		}
		if err != nil { // Unavailable after a server drain, Canceled on Ctrl-C, ...
			st := status.Convert(err)
			fmt.Printf("stream ended: %s %s\n", codeName(st.Code()), st.Message())
			return
		}
		switch p := resp.Payload.(type) {
		case *pb.StreamResponse_Price:
			prices++
			u := p.Price
			fmt.Printf("price %s #%d %v x %v\n", u.Symbol, u.TradeId, u.Price, u.Quantity)
		case *pb.StreamResponse_Indicators:
			batches++
			for _, u := range p.Indicators.Updates {
				fmt.Printf("indicator %s %s(%d) = %.4f as of trade #%d\n",
					u.Symbol, typeName(u.Type), u.Period, u.Value, u.TradeId)
			}
		case *pb.StreamResponse_Status:
			s := p.Status
			fmt.Printf("subscription %s: code %d %s\n", s.RequestId, s.Code, s.Message)
		case *pb.StreamResponse_Shutdown:
			fmt.Printf("server stops at %d ms: %s\n", p.Shutdown.DeadlineUnixMs, p.Shutdown.Reason)
		}
	}
	fmt.Printf("stream ended: --count %d reached\n", count) // main's return cancels the call
	return
}

// typeName is "RSI" for INDICATOR_TYPE_RSI.
func typeName(t pb.IndicatorType) string {
	const prefix = "INDICATOR_TYPE_"
	name := t.String()
	if len(name) > len(prefix) && name[:len(prefix)] == prefix {
		return name[len(prefix):]
	}
	return name
}

// codeName spells a status code as the other examples do (CANCELLED, UNAVAILABLE).
func codeName(c codes.Code) string {
	names := map[codes.Code]string{
		codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unavailable: "UNAVAILABLE",
		codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
	}
	if name, ok := names[c]; ok {
		return name
	}
	return c.String()
}
