// libFuzzer harness for the IndicatorRequest path of StreamPrices, linked
// against the SwiftPM-built modules (see Tests/Fuzz/README.md and
// scripts/fuzz.sh). It drives the engine directly (EngineRig).
//
// Input: a sequence of operations on three stream slots, each a StreamPrices
// stream of one engine. Every operation starts with a byte
// `op`; `op & 7` picks it and `(op >> 3) % 3` the slot:
//   0...3  request: 2-byte big-endian length (masked to 0...1023), then that
//          many bytes as the message body (a serialized IndicatorRequest)
//   4, 5   trade: 1 byte symbol, 4 bytes mantissa, 1 byte scale; the price is
//          mantissa / 10^(scale % 9), the range Binance's decimals cover
//   6      the indicator batch timer fires
//   7      the slot's stream closes (client reset) and a fresh one opens
// After each step the server's answers are checked against SubscriptionModel.
// At the end every stream closes and the pool must be whole again.

@testable import Engine
import GRPCWire
import Indicators
import TickwireProto

let slotCount = 3

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIndicatorRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzBytes(data, size)
    let rig = EngineRig()
    var model = SubscriptionModel(slots: slotCount, symbols: EngineRig.symbols.count, settings: EngineRig.indicators)
    var streams = (0..<slotCount).map { _ in rig.openStream() }

    while !input.isAtEnd {
        let op = input.byte()
        let slot = Int(op >> 3) % slotCount
        switch op & 7 {
        case 0...3:
            let body = input.take(Int(input.uint16() & 0x3FF))
            if !request(body, on: streams[slot], slot: slot, rig, &model) {
                // The server ended the call; a client would open another.
                rig.close(streams[slot])
                streams[slot] = rig.openStream()
            }
        case 4, 5:
            let symbol = Int(input.byte()) % EngineRig.symbols.count
            let mantissa = Double(input.uint32())
            let price = mantissa / pow10(Int(input.byte() % 9))
            model.trade(symbol: symbol, id: rig.trade(symbol: symbol, price: price), price: price)
            for slot in 0..<slotCount { expectPricesOnly(rig.responses(of: streams[slot])) }
        case 6:
            rig.emitBatches()
            for slot in 0..<slotCount { checkBatch(rig.responses(of: streams[slot]), slot: slot, &model) }
        default:
            rig.close(streams[slot])
            model.closeSlot(slot)
            streams[slot] = rig.openStream()
        }
    }

    for slot in 0..<slotCount {
        rig.close(streams[slot])
        model.closeSlot(slot)
    }
    precondition(rig.openCalls == 0, "invariant broken: \(rig.openCalls) calls still counted open after every stream closed")
    expectWholePool(rig)
    rig.tearDown()
    return 0
}

/// Sends one request and checks its single answer. False when the body was
/// not an IndicatorRequest and the server ended the call.
func request(_ body: [UInt8], on stream: RecordingStream, slot: Int, _ rig: EngineRig, _ model: inout SubscriptionModel) -> Bool {
    guard var decoded = try? Tickwire_V1_IndicatorRequest(serializedBytes: body) else {
        rig.send(body, on: stream)
        guard let status = stream.ending, status.code == .invalidArgument else {
            preconditionFailure("invariant broken: an undecodable request left the stream \(String(describing: stream.ending))")
        }
        precondition(rig.responses(of: stream).isEmpty, "invariant broken: an undecodable request was answered with a status")
        model.closeSlot(slot)  // the server released the stream's subscriptions
        return false
    }
    // Candle requests (candles, interval or forming set): their refusals are
    // checked as they are; a valid one is sent as the per-trade request it
    // would otherwise be, since the model keeps the per-trade bookkeeping only
    // (candle subscriptions: CandleSubscriptionTests, test_candles.py).
    var body = body
    let expected: GRPCStatusCode
    switch CandleSubscriptionRequest(decoded, symbols: rig.symbolTable, settings: EngineRig.indicators) {
    case .rejected(let code, _)?:
        expected = code
    case .some:
        decoded.candles = false
        decoded.interval = .unspecified
        decoded.forming = false
        body = try! decoded.serializedBytes()
        fallthrough
    case nil:
        expected = model.apply(SubscriptionRequest(decoded, symbols: rig.symbolTable, settings: EngineRig.indicators),
                               slot: slot)
    }
    rig.send(body, on: stream)
    let responses = rig.responses(of: stream)
    precondition(responses.count == 1, "invariant broken: a request got \(responses.count) responses, not one status")
    guard case .status(let status)? = responses[0].payload else {
        preconditionFailure("invariant broken: a request was answered with \(String(describing: responses[0].payload))")
    }
    precondition(status.code == expected.rawValue,
                 "invariant broken: status \(status.code) (\(status.message)), the model expects \(expected)")
    if decoded.requestID.utf8.count <= SubscriptionRequest.maxRequestIDBytes {
        precondition(status.requestID == decoded.requestID, "invariant broken: request_id not echoed")
    } else {
        precondition(decoded.requestID.hasPrefix(status.requestID), "invariant broken: request_id echo is not a prefix")
    }
    precondition(status.type == decoded.type && status.period == decoded.period, "invariant broken: status names another indicator")
    if status.code == 0 && status.hasParameters {
        precondition(!decoded.candles && [.macd, .bbands, .stoch, .vwap].contains(decoded.type),
                     "invariant broken: parameters echoed for \(decoded.type)")
    }
    precondition(stream.isOpen, "invariant broken: a decodable request ended the stream")
    return true
}

/// The key an update stands for: its echoed parameters are the resolved ones,
/// so resolving them again as a request gives the subscription's key.
func keyOf(_ update: Tickwire_V1_IndicatorUpdate, symbol: Int, kind: IndicatorKind) -> IndicatorKey {
    var request = Tickwire_V1_IndicatorRequest()
    request.type = update.type
    request.period = kind == .bollinger || kind == .atr ? update.period : (kind.needsParameters ? 0 : update.period)
    if update.hasParameters { request.parameters = update.parameters }
    guard case .resolved(let resolved) = IndicatorRequestParameters.resolve(
        request, onCandles: false, maxPeriod: EngineRig.indicators.maxPeriod) else {
        preconditionFailure("invariant broken: an update's own parameters do not resolve: \(update)")
    }
    return IndicatorKey(symbol: symbol, kind: resolved.kind, period: resolved.period, parameters: resolved.parameters)
}

extension IndicatorKind {
    /// MACD, STOCH and VWAP take their periods from `parameters` only.
    var needsParameters: Bool { self == .macd || self == .stochastic || self == .vwap }
}

/// A trade sends each open stream its price and nothing else.
func expectPricesOnly(_ responses: [Tickwire_V1_StreamResponse]) {
    precondition(responses.count == 1, "invariant broken: a trade queued \(responses.count) messages on a stream")
    guard case .price? = responses[0].payload else {
        preconditionFailure("invariant broken: a trade queued \(String(describing: responses[0].payload))")
    }
}

/// A batch holds only the stream's own, warm, finite values of the latest
/// trade; afterwards every warm subscription has been sent a value.
func checkBatch(_ responses: [Tickwire_V1_StreamResponse], slot: Int, _ model: inout SubscriptionModel) {
    precondition(responses.count <= 1, "invariant broken: \(responses.count) batches in one interval")
    if let response = responses.first {
        guard case .indicators(let batch)? = response.payload, !batch.updates.isEmpty else {
            preconditionFailure("invariant broken: the batch timer sent \(String(describing: response.payload))")
        }
        for update in batch.updates {
            guard let symbol = EngineRig.symbols.firstIndex(of: update.symbol),
                  let kind = IndicatorKind(wireType: update.type) else {
                preconditionFailure("invariant broken: an update names \(update.symbol) \(update.type)")
            }
            let key = keyOf(update, symbol: symbol, kind: kind)
            precondition(model.held[slot].contains(key), "invariant broken: a stream was sent \(key), which it does not hold")
            precondition(model.isWarm(key), "invariant broken: a value for \(key) before its warm-up")
            precondition(update.value.isFinite, "invariant broken: \(key) = \(update.value)")
            precondition(kind != .rsi || (0...100).contains(update.value), "invariant broken: RSI \(update.value)")
            precondition(update.tradeID == model.lastTradeID[symbol],
                         "invariant broken: \(key) carries trade \(update.tradeID), the latest is \(model.lastTradeID[symbol])")
            model.recordDelivery(key, slot: slot)
        }
    }
    let missing = model.undelivered(slot: slot)
    precondition(missing.isEmpty, "invariant broken: warm subscriptions \(missing) were never sent a value")
}

/// With every stream gone the pool must hold `maxIndicators` free states: the
/// server must grant exactly that many distinct new keys, and refuse one more.
func expectWholePool(_ rig: EngineRig) {
    let settings = EngineRig.indicators
    var probes: [RecordingStream] = []
    for index in 0...settings.maxIndicators {
        if index % settings.maxSubscriptionsPerStream == 0 { probes.append(rig.openStream()) }
        var probe = Tickwire_V1_IndicatorRequest()
        probe.action = .subscribe
        probe.symbol = EngineRig.symbols[index % EngineRig.symbols.count]
        probe.type = .sma
        probe.period = UInt32(2 + index / EngineRig.symbols.count)
        rig.send(try! probe.serializedBytes(), on: probes.last!)
        guard case .status(let status)? = rig.responses(of: probes.last!).first?.payload else {
            preconditionFailure("invariant broken: a pool probe got no status")
        }
        let expected: GRPCStatusCode = index < settings.maxIndicators ? .ok : .resourceExhausted
        precondition(status.code == expected.rawValue,
                     "invariant broken: pool probe \(index) got \(status.code), expected \(expected): states leaked")
    }
    for probe in probes { rig.close(probe) }
}

func pow10(_ exponent: Int) -> Double {
    (0..<exponent).reduce(1.0) { value, _ in value * 10 }
}
