import GRPCWire
import SwiftProtobuf
import TickwireProto

/// Streams that subscribe to the same things receive byte-identical batches
/// at a candle close or a batch tick. Encoding each distinct batch once, and
/// queueing that one `WireMessage` on every stream it is for (as a trade's
/// message is), makes a round cost allocations per distinct batch rather than
/// per stream: with 100 streams alike, one encode instead of 100.
///
/// Only consecutive streams are compared, which is enough: streams with the
/// same subscriptions are in the same state once they have been served once,
/// and a registry round visits them in a stable order. A miss costs one
/// equality check on top of the encode it would have done anyway.
///
/// The caller builds each stream's batch into one reused `scratch` value; on a
/// miss the encoder swaps it with the batch it remembers, so in steady state
/// neither array is reallocated.
struct SharedBatchEncoder<Batch: Equatable> {
    private var remembered: Batch
    private var rememberedMessage: WireMessage?
    private let wrap: (Batch) -> Tickwire_V1_StreamResponse
    /// Encodes done; with `messagesServed`, shows how much sharing saved.
    private(set) var encodes = 0
    private(set) var messagesServed = 0

    init(empty: Batch, wrap: @escaping (Batch) -> Tickwire_V1_StreamResponse) {
        remembered = empty
        self.wrap = wrap
    }

    /// The message carrying `scratch`: the previous stream's if equal,
    /// otherwise a new encode. `scratch` may come back holding an older
    /// batch's contents; the caller clears it before building the next.
    mutating func message(for scratch: inout Batch) -> WireMessage {
        messagesServed += 1
        if let rememberedMessage, scratch == remembered { return rememberedMessage }
        // Safe to force: encoding a message we just built cannot fail.
        let message = WireMessage(payload: try! wrap(scratch).serializedBytes())
        swap(&remembered, &scratch)
        rememberedMessage = message
        encodes += 1
        return message
    }

    /// Ends a round: the next batch is encoded afresh, and the last message's
    /// buffer is freed once the streams have written it.
    mutating func endRound() {
        rememberedMessage = nil
    }
}
