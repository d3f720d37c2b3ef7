package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
)

// trade is one Binance trade from the replay file, before it is stamped.
type trade struct {
	symbol      string
	price       float64
	quantity    float64
	tradeID     int64
	tradeTimeMs int64
	eventTimeMs int64
}

// combinedFrame is a line of the replay file: Binance's combined-stream
// envelope around a trade event. encoding/json prefers the exact key, so
// "t"/"T" and "e"/"E" land in their own fields.
type combinedFrame struct {
	Data struct {
		Event       string `json:"e"`
		Symbol      string `json:"s"`
		TradeID     int64  `json:"t"`
		Price       string `json:"p"`
		Quantity    string `json:"q"`
		TradeTimeMs int64  `json:"T"`
		EventTimeMs int64  `json:"E"`
	} `json:"data"`
}

// loadTrades reads every trade line of a replay file once, at startup, so the
// replay loop only paces and publishes. Lines that are not trades are skipped,
// as Tickwire's replay skips them.
func loadTrades(path string) ([]trade, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []trade
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; scanner.Scan(); line++ {
		if len(scanner.Bytes()) == 0 {
			continue
		}
		var frame combinedFrame
		if err := json.Unmarshal(scanner.Bytes(), &frame); err != nil || frame.Data.Event != "trade" {
			continue
		}
		price, perr := strconv.ParseFloat(frame.Data.Price, 64)
		quantity, qerr := strconv.ParseFloat(frame.Data.Quantity, 64)
		if perr != nil || qerr != nil {
			continue
		}
		out = append(out, trade{symbol: frame.Data.Symbol, price: price, quantity: quantity,
			tradeID: frame.Data.TradeID, tradeTimeMs: frame.Data.TradeTimeMs, eventTimeMs: frame.Data.EventTimeMs})
	}
	if err := scanner.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no trade", path)
	}
	return out, nil
}

// passShift continues a looped recording the way Tickwire's --replay-loop
// does: pass n adds n x (max id - min id + 1) to each symbol's ids, and
// n x (time span + 50 ms) to the times, so ids stay contiguous per symbol.
type passShift struct {
	idSpan     map[string]int64
	timeStepMs int64
}

func newPassShift(trades []trade) passShift {
	lowest, highest := map[string]int64{}, map[string]int64{}
	earliest, latest := trades[0].eventTimeMs, trades[0].eventTimeMs
	for _, t := range trades {
		if lo, ok := lowest[t.symbol]; !ok || t.tradeID < lo {
			lowest[t.symbol] = t.tradeID
		}
		if hi, ok := highest[t.symbol]; !ok || t.tradeID > hi {
			highest[t.symbol] = t.tradeID
		}
		for _, ms := range [2]int64{t.eventTimeMs, t.tradeTimeMs} {
			if ms < earliest {
				earliest = ms
			}
			if ms > latest {
				latest = ms
			}
		}
	}
	span := map[string]int64{}
	for symbol, lo := range lowest {
		span[symbol] = highest[symbol] - lo + 1
	}
	return passShift{idSpan: span, timeStepMs: latest - earliest + 50}
}

func (s passShift) place(t trade, pass int64) trade {
	t.tradeID += pass * s.idSpan[t.symbol]
	t.eventTimeMs += pass * s.timeStepMs
	t.tradeTimeMs += pass * s.timeStepMs
	return t
}
