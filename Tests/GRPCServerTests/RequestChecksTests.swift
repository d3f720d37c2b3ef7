import Testing
@testable import GRPCServer

@Suite struct GRPCTimeoutTests {
    @Test func everyUnit() {
        #expect(GRPCTimeout.nanoseconds("1H") == 3_600_000_000_000)
        #expect(GRPCTimeout.nanoseconds("2M") == 120_000_000_000)
        #expect(GRPCTimeout.nanoseconds("1S") == 1_000_000_000)
        #expect(GRPCTimeout.nanoseconds("500m") == 500_000_000)
        #expect(GRPCTimeout.nanoseconds("250u") == 250_000)
        #expect(GRPCTimeout.nanoseconds("7n") == 7)
    }

    @Test func zeroAndLeadingZerosAreWellFormed() {
        #expect(GRPCTimeout.nanoseconds("0S") == 0)
        #expect(GRPCTimeout.nanoseconds("00000010m") == 10_000_000)
    }

    @Test func eightDigitsSaturateInsteadOfOverflowing() {
        #expect(GRPCTimeout.nanoseconds("99999999n") == 99_999_999)
        #expect(GRPCTimeout.nanoseconds("99999999S") == 99_999_999_000_000_000)
        #expect(GRPCTimeout.nanoseconds("99999999H") == Int64.max)
    }

    @Test(arguments: [
        "", "S", "1", "10", "123456789S", "1s", "1 S", " 1S", "1S ", "-1S", "+1S", "1.5S", "1SS", "1h", "0x1S", "١S",
    ])
    func malformed(_ text: String) {
        #expect(GRPCTimeout.nanoseconds(text) == nil, "'\(text)'")
    }
}

@Suite struct RequestHeaderChecksTests {
    func headers(_ fields: [(String, String)]) -> RequestHeaders {
        let headers = RequestHeaders()
        let base = [(":method", "POST"), (":path", "/a.B/C"), ("content-type", "application/grpc")]
        for (name, value) in base + fields {
            var name = name, value = value
            name.withUTF8 { n in value.withUTF8 { v in headers.record(name: UnsafeRawBufferPointer(n), value: UnsafeRawBufferPointer(v)) } }
        }
        return headers
    }

    @Test func identityOrNoEncodingIsAccepted() {
        #expect(headers([]).validate() == nil)
        #expect(headers([("grpc-encoding", "identity")]).validate() == nil)
        #expect(headers([("grpc-encoding", "")]).validate() == nil)
    }

    @Test(arguments: ["gzip", "deflate", "snappy", "\u{1}garbage"])
    func otherEncodingsAreUnimplemented(_ encoding: String) {
        let rejection = headers([("grpc-encoding", encoding)]).validate()
        #expect(rejection == .unsupportedEncoding(encoding))
        #expect(rejection?.status.code == .unimplemented)
        #expect(rejection?.httpStatus == "200")
    }

    @Test func malformedTimeoutIsInternal() {
        let rejection = headers([("grpc-timeout", "soon")]).validate()
        #expect(rejection == .malformedTimeout("soon"))
        #expect(rejection?.status.code == .internal)
        #expect(headers([("grpc-timeout", "1S")]).validate() == nil)
    }

    @Test func anEmptyTimeoutIsMalformedNotAbsent() {
        #expect(headers([("grpc-timeout", "")]).validate() == .malformedTimeout(""))
    }
}
