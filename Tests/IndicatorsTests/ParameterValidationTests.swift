import Indicators
import Testing

/// The words a client gets with INVALID_ARGUMENT name the parameter and why.
@Suite("Indicator parameter validation")
struct ParameterValidationTests {
    func problem(_ kind: IndicatorKind, _ period: Int, _ parameters: IndicatorParameters) -> String? {
        IndicatorParameters.problem(kind: kind, period: period, parameters: parameters, maxPeriod: 100)
    }

    @Test func defaultsAreValid() {
        #expect(problem(.macd, 0, .macdDefault) == nil)
        #expect(problem(.bollinger, 20, .bollingerDefault) == nil)
        #expect(problem(.atr, 14, .none) == nil)
        #expect(problem(.stochastic, 0, .stochasticDefault) == nil)
        #expect(problem(.vwap, 0, .vwap(.utcDay)) == nil)
    }

    @Test func eachProblemNamesItsParameter() throws {
        #expect(try #require(problem(.macd, 0, .macd(fast: 26, slow: 12, signal: 9))).contains("fast_period 26 must be below slow_period 12"))
        #expect(try #require(problem(.macd, 0, .macd(fast: 12, slow: 12, signal: 9))).contains("must be below"))
        #expect(try #require(problem(.macd, 0, .macd(fast: 12, slow: 101, signal: 9))).contains("slow_period 101"))
        #expect(try #require(problem(.macd, 14, .macdDefault)).contains("period 14 is not used by MACD"))
        #expect(try #require(problem(.bollinger, 1, .bollingerDefault)).contains("period 1"))
        #expect(try #require(problem(.bollinger, 20, .bollinger(deviationsUp: -1, deviationsDown: 2))).contains("deviations_up"))
        #expect(try #require(problem(.bollinger, 20, .bollinger(deviationsUp: 2, deviationsDown: .nan))).contains("deviations_down"))
        #expect(try #require(problem(.stochastic, 0, .stochastic(fastK: 0, slowK: 3, slowD: 3))).contains("fastk_period 0"))
        #expect(try #require(problem(.stochastic, 0, .stochastic(fastK: 5, slowK: 3, slowD: 101))).contains("slowd_period 101"))
        #expect(try #require(problem(.atr, 101, .none)).contains("period 101"))
        #expect(problem(.sma, 20, .macdDefault) != nil, "parameters of another kind")
    }

    @Test func theEngineRefusesWhatValidationRefuses() {
        var engine = IndicatorEngine(symbolCount: 1, historyCapacity: 100, maxPeriod: 100, maxIndicators: 2)
        let swapped = engine.subscribe(symbol: 0, kind: .macd, period: 0, parameters: .macd(fast: 26, slow: 12, signal: 9))
        #expect(swapped == .failure(.invalidPeriod))
        let withoutParameters = engine.subscribe(symbol: 0, kind: .macd, period: 0)
        #expect(withoutParameters == .failure(.invalidPeriod))
    }
}
