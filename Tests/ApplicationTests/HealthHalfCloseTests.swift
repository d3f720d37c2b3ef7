import GRPCWire
import Testing
@testable import Application

/// A Health call that half-closes before its request ends with an error;
/// one that sent its request is left to its answer.
@Suite struct HealthHalfCloseTests {
    @Test func noRequestMessageEndsWithInternal() throws {
        let status = try #require(HealthService.halfCloseStatus(requestMessages: 0))
        #expect(status.code == .internal)
        #expect(status.message.contains("without its request message"))
    }

    @Test func aCallWithItsRequestCarriesOn() {
        #expect(HealthService.halfCloseStatus(requestMessages: 1) == nil)
    }
}
