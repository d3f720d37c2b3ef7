/// Binance's spot kline intervals, 1s to 1d (3d, 1w and 1M are not served:
/// they are not whole multiples of a fixed span from the epoch, and nobody
/// asked). Open times are aligned to UTC: the Unix epoch is a UTC midnight
/// and every span divides a day, so `floor(t / span) * span` is Binance's
/// open time for every interval.
///
/// Raw values match the wire enum `tickwire.v1.CandleInterval`, so the gRPC
/// layer converts with `CandleInterval(rawValue:)` and no table.
public enum CandleInterval: Int, Sendable, CaseIterable {
    /// One second ("1s").
    case oneSecond = 1
    /// One minute ("1m").
    case oneMinute = 2
    /// Three minutes ("3m").
    case threeMinutes = 3
    /// Five minutes ("5m").
    case fiveMinutes = 4
    /// Fifteen minutes ("15m").
    case fifteenMinutes = 5
    /// Thirty minutes ("30m").
    case thirtyMinutes = 6
    /// One hour ("1h").
    case oneHour = 7
    /// Two hours ("2h").
    case twoHours = 8
    /// Four hours ("4h").
    case fourHours = 9
    /// Six hours ("6h").
    case sixHours = 10
    /// Eight hours ("8h").
    case eightHours = 11
    /// Twelve hours ("12h").
    case twelveHours = 12
    /// One UTC day ("1d").
    case oneDay = 13

    /// Position in `allCases`, for flat per-(symbol, interval) storage.
    public var ordinal: Int { rawValue - 1 }

    public var durationMs: Int64 {
        switch self {
        case .oneSecond: 1_000
        case .oneMinute: 60_000
        case .threeMinutes: 180_000
        case .fiveMinutes: 300_000
        case .fifteenMinutes: 900_000
        case .thirtyMinutes: 1_800_000
        case .oneHour: 3_600_000
        case .twoHours: 7_200_000
        case .fourHours: 14_400_000
        case .sixHours: 21_600_000
        case .eightHours: 28_800_000
        case .twelveHours: 43_200_000
        case .oneDay: 86_400_000
        }
    }

    /// Binance's name, as in `<symbol>@kline_<interval>` and the `klines` method.
    public var binanceName: String {
        switch self {
        case .oneSecond: "1s"
        case .oneMinute: "1m"
        case .threeMinutes: "3m"
        case .fiveMinutes: "5m"
        case .fifteenMinutes: "15m"
        case .thirtyMinutes: "30m"
        case .oneHour: "1h"
        case .twoHours: "2h"
        case .fourHours: "4h"
        case .sixHours: "6h"
        case .eightHours: "8h"
        case .twelveHours: "12h"
        case .oneDay: "1d"
        }
    }

    public init?(binanceName: String) {
        guard let match = Self.allCases.first(where: { $0.binanceName == binanceName }) else { return nil }
        self = match
    }

    /// The open time of the candle holding `timeMs`. Floors toward minus
    /// infinity, so times before 1970 still land in the right candle.
    public func openTime(containing timeMs: Int64) -> Int64 {
        let span = durationMs
        let remainder = timeMs % span
        return timeMs - (remainder < 0 ? remainder + span : remainder)
    }
}
