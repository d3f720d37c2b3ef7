"""Binance's WebSocket API (ws-api/v3), as much of it as backfill and the
kline warm-up use.

`trades.historical` (and `trades.aggregate`, for aggTrade frames) with
{"symbol", "fromId", "limit"} is answered from the
fake's own market: every trade its clock has passed (sent to somebody or not),
as Binance's history would hold it, in Binance's reply shape with rateLimits
(REQUEST_WEIGHT, 25 per request, 6,000 per minute). On command it answers the
next requests with an error (429 + retryAfter, 418, 400, …) or withholds ids
(an incomplete history). Every request is recorded (`requests()`).

`klines` with {"symbol", "interval", "limit", "startTime", "endTime"}
aggregates that same history into klines (`klines_from_history`), in
Binance's 12-element array shape, weight 2. An unknown interval or symbol
gets Binance's 400 (-1120 / -1121); scripted errors may target one method.

It runs on the FakeBinance's loop, on a port of its own, so the stream's
connection records and ids are not disturbed by API connections.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import json
import ssl
import time

from websockets.asyncio.server import serve

WEIGHT_PER_REQUEST = 25
KLINES_WEIGHT = 2
DROP = 0  # an APIFault status: drop the connection instead of answering
WEIGHT_LIMIT = 6000
# Binance's spot kline intervals with a fixed length (the ones Tickwire asks for).
INTERVAL_MS = {"1s": 1000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
               "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000,
               "12h": 43_200_000, "1d": 86_400_000}


@dataclasses.dataclass(frozen=True)
class APIRequest:
    mono: float
    wall_ms: int
    symbol: str
    from_id: int
    limit: int
    status: int
    returned: int
    method: str = "trades.historical"
    interval: str = ""
    # klines: the open times of the first and last kline returned.
    first_open_ms: int | None = None
    last_open_ms: int | None = None


@dataclasses.dataclass(frozen=True)
class APIFault:
    status: int
    code: int
    msg: str
    retry_after_ms: int | None  # unix ms, as Binance's error.data.retryAfter
    method: str | None = None   # None: whatever request comes next


class FakeHistoryAPI:
    def __init__(self, market) -> None:
        self.market = market
        self.port: int | None = None
        self._server = None
        self._faults: collections.deque[APIFault] = collections.deque()
        self._withheld: set[tuple[str, int]] = set()
        # (symbol, interval): kline rows older than the fake's trade history,
        # answered before the rows made from it (a market that ran before).
        self.prior_klines: dict[tuple[str, str], list[list]] = {}
        # (symbol, interval): a function applied to every row answered (a
        # history that disagrees with what the trades were).
        self.kline_tamper: dict[tuple[str, str], object] = {}
        self._requests: list[APIRequest] = []
        self._connections = 0
        self._window = 0
        self._weight = 0
        # Per symbol: trade ids ascending and the frame index of each.
        self._ids: dict[str, list[int]] = collections.defaultdict(list)
        self._indices: dict[str, list[int]] = collections.defaultdict(list)
        # A test may send two frames out of id order (a late trade); the
        # history is still by id.
        for index, frame in sorted(enumerate(market.frames), key=lambda pair: (pair[1].symbol, pair[1].trade_id)):
            self._ids[frame.symbol].append(frame.trade_id)
            self._indices[frame.symbol].append(index)
        for symbol, ids in self._ids.items():
            assert len(ids) == len(set(ids)), f"{symbol}: a trade id twice in the recording"

    # ----- commands (any thread) --------------------------------------------

    def fail_next(self, n: int, status: int = 429, code: int = -1003, msg: str = "Too many requests.",
                  retry_after_ms: int | None = None, method: str | None = None) -> None:
        """The next `n` requests (of `method`, if given) get this error instead of their result."""
        with self.market._lock:
            for _ in range(n):
                self._faults.append(APIFault(status, code, msg, retry_after_ms, method))

    def drop_next(self, n: int, method: str | None = None) -> None:
        """The next `n` requests (of `method`, if given) are answered by dropping the connection."""
        self.fail_next(n, status=DROP, code=0, msg="", method=method)

    def withhold(self, symbol: str, ids) -> None:
        """These ids are missing from the history (never returned)."""
        with self.market._lock:
            self._withheld.update((symbol, i) for i in ids)

    def requests(self) -> list[APIRequest]:
        with self.market._lock:
            return list(self._requests)

    def connections(self) -> int:
        with self.market._lock:
            return self._connections

    # ----- loop thread ---------------------------------------------------------

    async def start(self, certificate) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(str(certificate.cert), str(certificate.key))
        self._server = await serve(self._handle, "127.0.0.1", 0, ssl=context, ping_interval=None,
                                   close_timeout=2, compression=None, max_size=2**20,
                                   process_request=self._check_path, server_header="fake-binance-api")
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def _check_path(self, conn, request):
        if request.path != "/ws-api/v3":
            return conn.respond(404, "expected /ws-api/v3\n")
        return None

    async def _handle(self, conn) -> None:
        with self.market._changed:
            self._connections += 1
            self.market._changed.notify_all()
        try:
            async for message in conn:
                answer = self._answer(message)
                if answer is None:  # a scripted drop: the TCP connection goes, no reply, no close frame
                    conn.transport.abort()
                    return
                await conn.send(answer)
        except Exception:
            return  # the client went away

    def _take_fault(self, method: str) -> APIFault | None:
        for fault in self._faults:
            if fault.method in (None, method):
                self._faults.remove(fault)
                return fault
        return None

    def _error(self, request_id, fault: APIFault, limits: list[dict]) -> str:
        error = {"code": fault.code, "msg": fault.msg}
        if fault.retry_after_ms is not None:
            error["data"] = {"serverTime": time.time_ns() // 1_000_000, "retryAfter": fault.retry_after_ms}
        return json.dumps({"id": request_id, "status": fault.status, "error": error, "rateLimits": limits})

    def _answer(self, message) -> str | None:
        try:
            if json.loads(message).get("method") == "klines":
                return self._answer_klines(json.loads(message))
        except Exception as exc:
            return json.dumps({"id": None, "status": 400, "error": {"code": -1102, "msg": f"bad request: {exc}"}})
        try:
            request = json.loads(message)
            request_id, params = request["id"], request["params"]
            symbol, from_id, limit = params["symbol"], int(params["fromId"]), int(params.get("limit", 500))
            method = request["method"]
            assert method in ("trades.historical", "trades.aggregate") and 1 <= limit <= 1000
        except Exception as exc:
            return json.dumps({"id": None, "status": 400, "error": {"code": -1102, "msg": f"bad request: {exc}"}})
        with self.market._changed:
            limits = self._spend()
            fault = self._take_fault(method)
            trades = [] if fault else self._history(symbol, from_id, limit, method == "trades.aggregate")
            self._requests.append(APIRequest(time.monotonic(), time.time_ns() // 1_000_000, symbol, from_id, limit,
                                             fault.status if fault else 200, len(trades), method))
            self.market._changed.notify_all()
        if fault:
            return None if fault.status == DROP else self._error(request_id, fault, limits)
        return json.dumps({"id": request_id, "status": 200, "result": trades, "rateLimits": limits},
                          separators=(",", ":"))

    def _answer_klines(self, request: dict) -> str | None:
        request_id, params = request["id"], request["params"]
        symbol, interval = params["symbol"], params["interval"]
        limit = int(params.get("limit", 500))
        start, end = params.get("startTime"), params.get("endTime")
        assert 1 <= limit <= 1000, f"limit {limit}"
        with self.market._changed:
            limits = self._spend(KLINES_WEIGHT)
            fault = self._take_fault("klines")
            if fault is None and interval not in INTERVAL_MS:
                fault = APIFault(400, -1120, "Invalid interval.", None)
            if fault is None and symbol not in self._ids:
                fault = APIFault(400, -1121, "Invalid symbol.", None)
            rows = [] if fault else self.klines(symbol, interval, limit, start, end)
            self._requests.append(APIRequest(time.monotonic(), time.time_ns() // 1_000_000, symbol, -1, limit,
                                             fault.status if fault else 200, len(rows), "klines", interval,
                                             rows[0][0] if rows else None, rows[-1][0] if rows else None))
            self.market._changed.notify_all()
        if fault:
            return None if fault.status == DROP else self._error(request_id, fault, limits)
        return json.dumps({"id": request_id, "status": 200, "result": rows, "rateLimits": limits},
                          separators=(",", ":"))

    def klines(self, symbol: str, interval: str, limit: int, start: int | None = None,
               end: int | None = None) -> list[list]:
        """What `klines` answers now (call under the market's lock, or when it is still)."""
        published = [json.loads(self.market.frames[i].text)["data"]
                     for i in self._indices.get(symbol, []) if i < self.market._position]
        rows = self.prior_klines.get((symbol, interval), []) + klines_from_history(published, INTERVAL_MS[interval])
        tamper = self.kline_tamper.get((symbol, interval))
        if tamper is not None:
            rows = [tamper(list(row)) for row in rows]
        if start is not None:
            rows = [r for r in rows if r[0] >= start]
        if end is not None:
            rows = [r for r in rows if r[0] <= end]
        # Binance: from startTime, the first `limit`; otherwise the most recent `limit`.
        return rows[:limit] if start is not None else rows[-limit:]

    def _spend(self, weight: int = WEIGHT_PER_REQUEST) -> list[dict]:
        window = int(time.time() // 60)
        if window != self._window:
            self._window, self._weight = window, 0
        self._weight += weight
        return [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": WEIGHT_LIMIT, "count": self._weight}]

    def _history(self, symbol: str, from_id: int, limit: int, aggregate: bool = False) -> list[dict]:
        """Up to `limit` trades from `from_id` on, up to the newest id the clock
        has passed. Binance numbers trades in the order it makes them, so its
        history holds every id below the newest, even where the recording
        (or a test that swaps two frames) sends a later id first."""
        ids, indices = self._ids.get(symbol, []), self._indices.get(symbol, [])
        out = []
        position = self.market._position
        newest = max((ids[k] for k in range(len(ids)) if indices[k] < position), default=None)
        for k in range(bisect.bisect_left(ids, from_id), len(ids)):
            if len(out) >= limit or newest is None or ids[k] > newest:
                break
            if (symbol, ids[k]) in self._withheld:
                continue
            data = json.loads(self.market.frames[indices[k]].text)["data"]
            price, qty = data["p"], data["q"]
            if aggregate:  # one aggregate per trade, as fake_binance.as_agg_trades makes them
                out.append({"a": ids[k], "p": price, "q": qty, "f": data["f"], "l": data["l"], "T": data["T"],
                            "m": data["m"], "M": data.get("M", True)})
                continue
            out.append({"id": ids[k], "price": price, "qty": qty,
                        "quoteQty": f"{float(price) * float(qty):.8f}", "time": data["T"],
                        "isBuyerMaker": data["m"], "isBestMatch": data.get("M", True)})
        return out


def klines_from_history(trades: list[dict], interval_ms: int) -> list[list]:
    """Binance's kline rows for `trades` (stream `data` objects, any order):
    [open time, open, high, low, close, volume, close time, quote volume,
    trades, taker buy base volume, taker buy quote volume, "0"]. The buyer is
    the taker when `m` (buyer is maker) is false. An interval without trades
    between two with trades is a row of the last close with zero volumes, as
    in Binance's own klines of quiet markets."""
    by_open: dict[int, list[dict]] = collections.defaultdict(list)
    for trade in sorted(trades, key=lambda t: t["t"]):
        by_open[trade["T"] // interval_ms * interval_ms].append(trade)
    if not by_open:
        return []
    rows: list[list] = []
    last_close = None
    for open_ms in range(min(by_open), max(by_open) + 1, interval_ms):
        group = by_open.get(open_ms, [])
        if not group:
            rows.append([open_ms, last_close, last_close, last_close, last_close, "0.00000000", open_ms + interval_ms - 1,
                         "0.00000000", 0, "0.00000000", "0.00000000", "0"])
            continue
        prices = [t["p"] for t in group]
        volume = sum(float(t["q"]) for t in group)
        quote = sum(float(t["p"]) * float(t["q"]) for t in group)
        taker = [t for t in group if not t["m"]]
        rows.append([open_ms, prices[0], max(prices, key=float), min(prices, key=float), prices[-1], f"{volume:.8f}",
                     open_ms + interval_ms - 1, f"{quote:.8f}", len(group),
                     f"{sum(float(t['q']) for t in taker):.8f}",
                     f"{sum(float(t['p']) * float(t['q']) for t in taker):.8f}", "0"])
        last_close = prices[-1]
    return rows
