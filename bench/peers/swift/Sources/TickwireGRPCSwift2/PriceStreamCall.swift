import GRPCCore

/// The indicator cadence (Tickwire's --indicator-interval default).
private let batchInterval = Duration.milliseconds(100)

/// One StreamPrices call: a child task reads requests, another ticks every
/// 100 ms, and the replay task publishes prices, all into the call's bounded
/// AsyncStream; this loop alone writes to the client.
struct PriceStreamCall {
    let hub: PriceHub
    let bounds: StreamBounds

    func run(requests: RPCAsyncSequence<Tickwire_V1_IndicatorRequest, any Error>,
             writer: RPCWriter<Tickwire_V1_StreamResponse>) async throws {
        let (id, events, continuation) = hub.subscribe()
        defer { hub.unsubscribe(id) }
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { await Self.forward(requests, to: continuation) }
            group.addTask { await Self.tick(continuation) }
            if let duration = bounds.duration {
                group.addTask {
                    try? await Task.sleep(for: duration)
                    continuation.yield(.expired)
                }
            }
            defer { group.cancelAll() }
            try await send(events, to: writer)
        }
    }

    /// The sending loop; returns when a bound is reached or the stream ends
    /// (unsubscribed or the call cancelled).
    private func send(_ events: AsyncStream<StreamEvent>, to writer: RPCWriter<Tickwire_V1_StreamResponse>) async throws {
        var subscriptions = Subscriptions()
        var sent = 0
        for await event in events {
            switch event {
            case .price(let message):
                try await writer.write(message)
                sent += 1
                if let limit = bounds.messages, sent >= limit { return }
            case .request(let request):
                try await writer.write(subscriptions.apply(request, history: hub.history))
            case .tick:
                if let batch = subscriptions.batch(history: hub.history) { try await writer.write(batch) }
            case .expired:
                return
            case .requestsFailed(let error):
                throw error
            }
        }
    }

    private static func forward(_ requests: RPCAsyncSequence<Tickwire_V1_IndicatorRequest, any Error>,
                                to continuation: PriceHub.Subscriber) async {
        do {
            for try await request in requests { continuation.yield(.request(request)) }
            // A half-close does not end the call: prices keep flowing.
        } catch is CancellationError {
        } catch {
            continuation.yield(.requestsFailed(error))
        }
    }

    private static func tick(_ continuation: PriceHub.Subscriber) async {
        while (try? await Task.sleep(for: batchInterval)) != nil {
            continuation.yield(.tick)
        }
    }
}
