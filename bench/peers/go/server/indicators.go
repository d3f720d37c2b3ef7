package main

import (
	"strings"
	"sync"

	pb "tickwire.bench/peers/go/tickwirev1"
)

// historyLength is how many recent prices per symbol the SMAs are computed
// from, and so the largest period accepted (Tickwire's --max-period default).
const historyLength = 1000

// priceHistory is a ring of each symbol's last prices and trade ids.
type priceHistory struct {
	mu      sync.RWMutex
	symbols map[string]*priceRing
}

type priceRing struct {
	prices  []float64
	ids     []int64
	next    int
	count   int
	lastID  int64
	lastSet bool
}

func newPriceHistory(symbols []string, length int) *priceHistory {
	h := &priceHistory{symbols: map[string]*priceRing{}}
	for _, s := range symbols {
		h.symbols[s] = &priceRing{prices: make([]float64, length), ids: make([]int64, length)}
	}
	return h
}

func (h *priceHistory) add(symbol string, id int64, price float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.symbols[symbol]
	if r == nil {
		return
	}
	r.prices[r.next], r.ids[r.next] = price, id
	r.next = (r.next + 1) % len(r.prices)
	if r.count < len(r.prices) {
		r.count++
	}
	r.lastID, r.lastSet = id, true
}

// sma is the mean of the last `period` prices and the last trade id in it;
// ok is false while fewer than `period` prices have been seen.
func (h *priceHistory) sma(symbol string, period int) (value float64, lastID int64, ok bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	r := h.symbols[symbol]
	if r == nil || r.count < period {
		return 0, 0, false
	}
	sum := 0.0
	for k := 1; k <= period; k++ {
		sum += r.prices[(r.next-k+len(r.prices))%len(r.prices)]
	}
	return sum / float64(period), r.lastID, true
}

func (h *priceHistory) served(symbol string) (string, bool) {
	upper := strings.ToUpper(symbol)
	_, ok := h.symbols[upper]
	return upper, ok
}

// smaKey is one subscription of a stream.
type smaKey struct {
	symbol string
	period int
}

// subscriptions is one stream's SMAs and the trade each was last sent at.
// It is owned by that stream's sending goroutine alone.
type subscriptions map[smaKey]int64

// Status codes of SubscriptionStatus (gRPC code numbers, as the contract says).
const (
	codeOK              = 0
	codeInvalidArgument = 3
	codeNotFound        = 5
)

// apply answers one IndicatorRequest and changes the subscriptions.
func (subs subscriptions) apply(req *pb.IndicatorRequest, history *priceHistory) *pb.SubscriptionStatus {
	symbol, served := history.served(req.Symbol)
	st := &pb.SubscriptionStatus{RequestId: req.RequestId, Symbol: symbol, Type: req.Type, Period: req.Period,
		Code: codeOK, Message: "OK"}
	switch {
	case req.Type != pb.IndicatorType_INDICATOR_TYPE_SMA:
		// The issue asks this peer for SMA only; EMA and RSI are refused, not faked.
		st.Code, st.Message = codeInvalidArgument, "this grpc-go peer computes SMA only"
	case req.Period < 2 || req.Period > historyLength:
		st.Code, st.Message = codeInvalidArgument, "period must be 2 to 1000"
	case !served:
		st.Symbol, st.Code, st.Message = req.Symbol, codeNotFound, "symbol not served"
	case req.Action == pb.IndicatorRequest_ACTION_UNSUBSCRIBE:
		delete(subs, smaKey{symbol, int(req.Period)})
	case req.Action == pb.IndicatorRequest_ACTION_SUBSCRIBE:
		key := smaKey{symbol, int(req.Period)}
		if _, ok := subs[key]; !ok {
			subs[key] = -1
		}
	default:
		st.Code, st.Message = codeInvalidArgument, "unknown action"
	}
	return st
}

// batch is the SMAs that changed since this stream's previous batch, or nil.
func (subs subscriptions) batch(history *priceHistory) *pb.StreamResponse {
	var updates []*pb.IndicatorUpdate
	for key, sentAt := range subs {
		value, lastID, ok := history.sma(key.symbol, key.period)
		if !ok || lastID == sentAt {
			continue
		}
		subs[key] = lastID
		updates = append(updates, &pb.IndicatorUpdate{Symbol: key.symbol, Type: pb.IndicatorType_INDICATOR_TYPE_SMA,
			Period: uint32(key.period), Value: value, TradeId: lastID})
	}
	if len(updates) == 0 {
		return nil
	}
	return &pb.StreamResponse{Payload: &pb.StreamResponse_Indicators{Indicators: &pb.IndicatorBatch{Updates: updates}}}
}
