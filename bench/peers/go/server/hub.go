package main

import (
	"sync"
	"sync/atomic"
	"time"

	pb "tickwire.bench/peers/go/tickwirev1"
)

// deliveryPolicy says what the hub does when a stream's buffer is full.
type deliveryPolicy int

const (
	// blockPolicy waits for room (up to blockTimeout, then drops), so every
	// stream gets every trade while it keeps up; one slow reader slows the
	// feed for everyone, which is what a "receive everything" benchmark wants.
	blockPolicy deliveryPolicy = iota
	// dropPolicy drops the trade for that stream at once and counts it.
	dropPolicy
)

// blockTimeout bounds how long one stalled stream can hold the feed.
const blockTimeout = 1 * time.Second

// subscriber is one open StreamPrices stream as the hub sees it.
type subscriber struct {
	prices chan *pb.StreamResponse
	done   chan struct{}
	// dropped counts trades this stream lost to a full buffer.
	dropped atomic.Int64
}

// hub fans every published trade out to every subscriber, and keeps each
// symbol's recent prices for the SMA batches.
type hub struct {
	policy     deliveryPolicy
	bufferSize int

	mu          sync.RWMutex
	subscribers map[*subscriber]struct{}
	opened      int
	// enough closes once `waitStreams` streams have opened (the replay's start gate).
	enough      chan struct{}
	waitStreams int

	history *priceHistory
}

func newHub(policy deliveryPolicy, bufferSize, waitStreams int, symbols []string) *hub {
	h := &hub{policy: policy, bufferSize: bufferSize, subscribers: map[*subscriber]struct{}{},
		enough: make(chan struct{}), waitStreams: waitStreams, history: newPriceHistory(symbols, historyLength)}
	if waitStreams <= 0 {
		close(h.enough)
	}
	return h
}

func (h *hub) subscribe() *subscriber {
	s := &subscriber{prices: make(chan *pb.StreamResponse, h.bufferSize), done: make(chan struct{})}
	h.mu.Lock()
	h.subscribers[s] = struct{}{}
	h.opened++
	if h.opened == h.waitStreams {
		close(h.enough)
	}
	h.mu.Unlock()
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	// done first: publish may be blocked on this subscriber's full channel
	// while holding the read lock, and would keep the write lock from us.
	close(s.done)
	h.mu.Lock()
	delete(h.subscribers, s)
	h.mu.Unlock()
}

// publish hands one price message (shared, read-only, by every stream) to
// every subscriber under the delivery policy.
func (h *hub) publish(symbol string, tradeID int64, msg *pb.StreamResponse, price float64) {
	h.history.add(symbol, tradeID, price)
	h.mu.RLock()
	defer h.mu.RUnlock()
	for s := range h.subscribers {
		select {
		case s.prices <- msg:
			continue
		default:
		}
		if h.policy == dropPolicy {
			s.dropped.Add(1)
			continue
		}
		timer := time.NewTimer(blockTimeout)
		select {
		case s.prices <- msg:
		case <-s.done:
		case <-timer.C:
			s.dropped.Add(1)
		}
		timer.Stop()
	}
}
