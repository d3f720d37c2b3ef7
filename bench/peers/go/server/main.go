// Command tickwire-grpc-go is the grpc-go peer Tickwire is benchmarked
// against: the same StreamPrices contract, fed by the same replay file at the
// same fixed rate, written as an ordinary grpc-go service (a goroutine and a
// buffered channel per stream).
package main

import (
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"google.golang.org/grpc"

	pb "tickwire.bench/peers/go/tickwirev1"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:50051", "address to serve gRPC on (h2c)")
	replayPath := flag.String("replay", "", "replay file: Binance combined-stream JSON lines")
	rate := flag.Float64("replay-rate", 1000, "trades per second; 0 for as fast as the streams accept")
	loop := flag.Bool("replay-loop", false, "start the file over at its end, ids shifted per symbol")
	waitStreams := flag.Int("replay-wait-streams", 0, "hold the replay until this many streams are open")
	bufferSize := flag.Int("stream-buffer", 4096, "messages buffered per stream")
	policyName := flag.String("policy", "block", "full stream buffer: block (up to 1 s, then drop) or drop")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	policy := blockPolicy
	switch *policyName {
	case "block":
	case "drop":
		policy = dropPolicy
	default:
		log.Fatalf("-policy must be block or drop, not %q", *policyName)
	}
	trades, err := loadTrades(*replayPath)
	if err != nil {
		log.Fatalf("replay: %v", err)
	}
	h := newHub(policy, *bufferSize, *waitStreams, symbolsOf(trades))

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	server := grpc.NewServer()
	pb.RegisterPriceStreamServer(server, &priceStream{hub: h})

	stop := make(chan struct{})
	go func() {
		select {
		case <-h.enough:
			log.Printf("trades=%d rate=%g loop=%t replay starting", len(trades), *rate, *loop)
			(&replayer{trades: trades, shift: newPassShift(trades), rate: *rate, loop: *loop}).run(h, stop)
		case <-stop:
		}
	}()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		close(stop)
		server.Stop() // streams never end by themselves, so a graceful stop would wait forever
	}()
	log.Printf("address=%s listening", listener.Addr())
	if err := server.Serve(listener); err != nil {
		log.Fatalf("serve: %v", err)
	}
	log.Printf("stopped")
}

func symbolsOf(trades []trade) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range trades {
		if !seen[t.symbol] {
			seen[t.symbol] = true
			out = append(out, t.symbol)
		}
	}
	sort.Strings(out)
	return out
}
