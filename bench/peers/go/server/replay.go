package main

import (
	"log"
	"time"

	pb "tickwire.bench/peers/go/tickwirev1"
)

// replayer plays the recording into the hub at a fixed rate (trades/s; 0 is
// as fast as the hub accepts), once or looped, as Tickwire's
// --replay --replay-rate N --replay-loop does.
type replayer struct {
	trades []trade
	shift  passShift
	rate   float64
	loop   bool
}

// maxBehind bounds how many overdue trades go out in one go after the
// goroutine was descheduled, so a stall does not turn into one huge burst.
const maxBehind = 1000

func (r *replayer) run(h *hub, stop <-chan struct{}) {
	origin := time.Now()
	var published int64
	for pass := int64(0); pass == 0 || r.loop; pass++ {
		for i := 0; i < len(r.trades); i++ {
			select {
			case <-stop:
				return
			default:
			}
			if r.rate > 0 {
				// Due time from the count, not from the previous trade, so rounding never accumulates.
				due := origin.Add(time.Duration(float64(published) * 1e9 / r.rate))
				if wait := time.Until(due); wait > 0 {
					time.Sleep(wait)
				} else if behind := -wait.Seconds() * r.rate; behind > maxBehind {
					origin = origin.Add(-wait) // give up on the lost time rather than bursting it
				}
			}
			t := r.shift.place(r.trades[i], pass)
			h.publish(t.symbol, t.tradeID, &pb.StreamResponse{Payload: &pb.StreamResponse_Price{Price: &pb.PriceUpdate{
				Symbol: t.symbol, Price: t.price, Quantity: t.quantity, TradeId: t.tradeID,
				TradeTimeMs: t.tradeTimeMs, EventTimeMs: t.eventTimeMs,
				IngestUnixNanos: time.Now().UnixNano(),
			}}}, t.price)
			published++
		}
	}
	log.Printf("published=%d replay finished", published)
}
