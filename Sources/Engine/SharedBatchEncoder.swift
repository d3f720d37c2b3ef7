import GRPCWire
import SwiftProtobuf
import TickwireProto

/// Streams that subscribe to the same things receive byte-identical batches
/// at a candle close or a batch tick. Encoding each distinct batch once, and
/// queueing that one `WireMessage` on every stream it is for (as a trade's
/// message is), makes a round cost allocations per distinct batch rather than
/// per stream: with 100 streams alike, one encode instead of 100.
///
/// A round remembers its last `slotCount` distinct batches, so streams with a
/// few different subscription sets, interleaved in the registry, still share.
/// A miss costs up to `slotCount` equality checks on top of the encode it
/// would have done anyway; equal batches serialize to equal bytes, so a hit
/// is always the right message.
///
/// The caller builds each stream's batch into one reused `scratch` value; on a
/// miss the encoder swaps it with the slot it replaces, so in steady state no
/// batch array is reallocated, and writes it by hand (`HandEncodedBatch`)
/// into a recycled message: a round allocates nothing once warm.
struct SharedBatchEncoder<Batch: HandEncodedBatch> {
    static var slotCount: Int { 8 }

    private var batches: [Batch]
    private var messages: [WireMessage?]
    private var nextSlot = 0
    /// Batches are a few hundred bytes to a few KiB; a slot still queued on
    /// a slow stream is skipped, not overwritten (see WireMessageRecycler).
    private var recycler = WireMessageRecycler(slots: 32, minimumPayloadCapacity: 1024)
    /// Encodes done; the services' batches sent minus this is what sharing saved.
    private(set) var encodes = 0

    init(empty: Batch) {
        batches = Array(repeating: empty, count: Self.slotCount)
        messages = Array(repeating: nil, count: Self.slotCount)
    }


    /// The message carrying `scratch`: one already encoded this round if equal,
    /// otherwise a new encode. `scratch` may come back holding an older
    /// batch's contents; the caller clears it before building the next.
    mutating func message(for scratch: inout Batch) -> WireMessage {
        for slot in 0..<Self.slotCount {
            if let message = messages[slot], batches[slot] == scratch { return message }
        }
        let size = scratch.responseSize
        let message = recycler.message(payloadCount: size) { buffer in
            var writer = ProtobufWriter(buffer)
            scratch.writeResponse(to: &writer)
            precondition(writer.offset == size, "batch size mismatch")
        }
        assert(message.payload == (try! scratch.reference.serializedBytes() as [UInt8]),
               "the hand-written batch differs from swift-protobuf's encoding of it")
        swap(&batches[nextSlot], &scratch)
        messages[nextSlot] = message
        nextSlot = (nextSlot + 1) % Self.slotCount
        encodes += 1
        return message
    }

    /// Ends a round: later batches are encoded afresh, and this round's
    /// buffers are freed once the streams have written them.
    mutating func endRound() {
        for slot in 0..<Self.slotCount { messages[slot] = nil }
        nextSlot = 0
    }
}
