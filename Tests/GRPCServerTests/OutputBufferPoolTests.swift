import Testing
@testable import GRPCServer

/// Output memory is lent only while a connection has output
/// (OutputBufferPool), and a steady load borrows without allocating.
@Suite struct OutputBufferPoolTests {
    private func withPool(_ body: (UnsafeMutablePointer<OutputBufferPool>) -> Void) {
        let pool = UnsafeMutablePointer<OutputBufferPool>.allocate(capacity: 1)
        pool.initialize(to: OutputBufferPool())
        body(pool)
        pool.pointee.freeAll()
        pool.deinitialize(count: 1)
        pool.deallocate()
    }

    private func append(_ count: Int, to buffer: inout OutputBuffer) {
        [UInt8](repeating: 7, count: count).withUnsafeBytes { buffer.append($0) }
    }

    @Test func aBufferHoldsMemoryOnlyUntilTheSocketTookEverything() {
        withPool { pool in
            var output = OutputBuffer(pool: pool)
            append(100, to: &output)
            #expect(output.allocatedBytes == 1024 && pool.pointee.allocatedBytes == 1024 && pool.pointee.idleBytes == 0)
            output.consume(60)
            #expect(output.allocatedBytes == 1024, "unsent bytes keep the memory")
            output.consume(40)
            #expect(output.allocatedBytes == 0 && pool.pointee.idleBytes == 1024)
            #expect(pool.pointee.allocatedBytes == 1024, "given back, not freed")
        }
    }

    @Test func connectionsFlushedInTurnShareOneBuffer() {
        withPool { pool in
            var connections = (0..<100).map { _ in OutputBuffer(pool: pool) }
            for round in 0..<3 {
                for index in connections.indices {
                    append(85, to: &connections[index])
                    connections[index].consume(85)
                }
                #expect(pool.pointee.allocatedBytes == 1024, "round \(round)")
            }
        }
    }

    @Test func aBurstGrowsFromTheLargerClassesAndASteadyLoadThenAllocatesNothing() {
        withPool { pool in
            var busy = OutputBuffer(pool: pool)
            var quiet = OutputBuffer(pool: pool)
            for _ in 0..<2 {
                append(3000, to: &busy)  // 1 KiB, then 2, then 4: each step lends the next class
                append(500, to: &quiet)
                busy.consume(3000)
                quiet.consume(500)
            }
            let settled = pool.pointee.allocatedBytes
            for _ in 0..<50 {
                append(3000, to: &busy)
                append(500, to: &quiet)
                #expect(busy.allocatedBytes == 4096)
                busy.consume(3000)
                quiet.consume(500)
            }
            #expect(pool.pointee.allocatedBytes == settled, "a repeated load borrows what it borrowed before")
        }
    }

    @Test func freeingIdleMemoryLeavesWhatIsLent() {
        withPool { pool in
            var holding = OutputBuffer(pool: pool)
            var done = OutputBuffer(pool: pool)
            append(2000, to: &holding)
            append(10, to: &done)
            done.consume(10)
            let lent = holding.allocatedBytes
            let idle = pool.pointee.idleBytes
            #expect(idle > 0 && pool.pointee.freeIdle() == idle)
            #expect(pool.pointee.allocatedBytes == lent && pool.pointee.idleBytes == 0)
            holding.release()
            #expect(pool.pointee.idleBytes == lent)
        }
    }
}
