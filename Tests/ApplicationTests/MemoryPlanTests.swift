import Testing
@testable import Application

@Suite struct MemoryPlanTests {
    static let mib = 1024 * 1024
    static let deployment = (bytes: 512 * mib, source: "cgroup v2 memory.max (536870912 bytes)")

    @Test func theDeploymentsLimitHoldsEveryClientTheDefaultsAdmit() {
        let plan = MemoryPlan.resolve(cgroupLimit: Self.deployment, workers: 1, queuedFlag: nil, streamsFlag: nil,
                                      maxConnections: 4096, maxConcurrentStreams: 100)
        #expect(plan.queuedBytes == 256 * Self.mib)
        #expect(plan.maxStreams == 32_768)
        #expect(plan.connectionsFit)
        // The worst case the docs add up: baseline, budget, every connection and every call.
        let worst = MemoryPlan.baselineBytes + plan.queuedBytes + 4096 * MemoryPlan.connectionBytes
            + plan.maxStreams * MemoryPlan.streamBytes
        #expect(worst <= 512 * Self.mib - 512 * Self.mib / 8)
    }

    @Test func workersShareTheLimit() {
        let plan = MemoryPlan.resolve(cgroupLimit: Self.deployment, workers: 2, queuedFlag: nil, streamsFlag: nil,
                                      maxConnections: 1024, maxConcurrentStreams: 100)
        #expect(plan.processLimitBytes == 256 * Self.mib)
        #expect(plan.queuedBytes == 128 * Self.mib)
        #expect(plan.limitSource.hasSuffix("/ 2 workers"))
    }

    @Test func flagsWinAndATightLimitStillAdmitsOneFullConnection() {
        let flags = MemoryPlan.resolve(cgroupLimit: nil, workers: 1, queuedFlag: 10 * Self.mib, streamsFlag: 500,
                                       maxConnections: 4096, maxConcurrentStreams: 100)
        #expect(flags.queuedBytes == 10 * Self.mib && flags.queuedSource == "--max-queued-bytes")
        #expect(flags.maxStreams == 500 && flags.maxStreamsSource == "--max-streams")
        let tight = MemoryPlan.resolve(cgroupLimit: (128 * Self.mib, "test"), workers: 1, queuedFlag: nil,
                                       streamsFlag: nil, maxConnections: 4096, maxConcurrentStreams: 100)
        #expect(tight.maxStreams == 100)
        #expect(!tight.connectionsFit, "4096 connections do not fit in 128 MiB next to a 64 MiB budget")
    }

    @Test func cgroupFilesAreReadAsTheKernelWritesThem() {
        #expect(MemoryPlan.cgroupLimit { $0 == "/sys/fs/cgroup/memory.max" ? "536870912\n" : nil }?.bytes == 512 * Self.mib)
        #expect(MemoryPlan.cgroupLimit { $0 == "/sys/fs/cgroup/memory.max" ? "max\n" : nil } == nil)
        #expect(MemoryPlan.cgroupLimit { $0.hasSuffix("limit_in_bytes") ? "9223372036854771712" : nil } == nil,
                "cgroup v1's no-limit value")
        #expect(MemoryPlan.cgroupLimit { $0.hasSuffix("limit_in_bytes") ? "268435456" : nil }?.bytes == 256 * Self.mib)
    }
}
