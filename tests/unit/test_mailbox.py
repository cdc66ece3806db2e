import datetime as dt
import threading
import time

from actors.runtime.actor import Envelope
from actors.runtime.core import ActorCore
from actors.runtime.delivery import classifier_of, conflating, lossless
from actors.runtime.mailbox import Delivery, Mailbox, Policy
from actors.runtime.work import WorkCounter
from messages import Alert, OptionContract, OptionQuote, OptionQuotes, OrderFilled, UnderlyingQuote


def _quote(symbol: str, last: float) -> UnderlyingQuote:
    return UnderlyingQuote(symbol=symbol, bid=last - 0.01, ask=last + 0.01, last=last)


def _fill(n: int) -> OrderFilled:
    return OrderFilled(client_order_id="o", exec_id=f"e{n}", quantity=1, price=1.0, commission_usd=0.0)


def _mailbox(classify, bound=10, timeout=0.05, overflow=None, drop_bound=3, work=None) -> Mailbox:
    return Mailbox("m", classify, bound, timeout, drop_bound, on_overflow=overflow or (lambda n, m: None), work=work)


def _drain(mailbox: Mailbox) -> list:
    out = []
    while not mailbox.empty():
        out.append(mailbox.get().message)
    return out


def test_conflate_keeps_latest_per_key_in_original_position():
    mailbox = _mailbox(conflating)
    for price in (1.0, 2.0, 3.0):
        mailbox.put(Envelope(_quote("SPY", price)))
    mailbox.put(Envelope(_quote("QQQ", 9.0)))
    mailbox.put(Envelope(_quote("SPY", 4.0)))
    assert [(q.symbol, q.last) for q in _drain(mailbox)] == [("SPY", 4.0), ("QQQ", 9.0)]
    assert mailbox.metrics.conflated == 3
    assert mailbox.metrics.high_water == 2


def _option(strike: float, bid: float, ts: int) -> OptionQuote:
    return OptionQuote(contract=OptionContract("SPY", dt.date(2026, 4, 17), strike, "P"), bid=bid, ask=bid + 0.1,
                       iv=0.2, delta=-0.2, gamma=0.01, vega=0.1, theta=-0.02, underlying_price=580.0, ts=ts)


def test_a_queued_burst_absorbs_the_next_keeping_every_contracts_newest_quote_in_its_place():
    mailbox = _mailbox(conflating)
    mailbox.put(Envelope(OptionQuotes(ts=1, seq=1, quotes=(_option(500, 1.0, 1), _option(510, 2.0, 1)))))
    mailbox.put(Envelope(_quote("SPY", 580.0)))  # market data does not fence market data
    mailbox.put(Envelope(OptionQuotes(ts=2, seq=3, quotes=(_option(510, 2.5, 2), _option(520, 3.0, 2)))))
    burst, underlying = _drain(mailbox)
    assert underlying.symbol == "SPY"  # the burst kept the first one's place
    assert (burst.seq, burst.ts) == (3, 2)
    assert [(q.contract.strike, q.bid, q.ts) for q in burst.quotes] == [(500, 1.0, 1), (510, 2.5, 2), (520, 3.0, 2)]
    assert mailbox.metrics.conflated == 1


def test_a_quote_never_conflates_past_a_message_the_actor_acts_on():
    """Replay delivers in journal order: the actor takes the fill with the quotes published before it, as replay
    does, and the newer quotes after it."""
    mailbox = _mailbox(conflating)
    mailbox.put(Envelope(OptionQuotes(ts=1, seq=1, quotes=(_option(500, 1.0, 1),))))
    mailbox.put(Envelope(_quote("SPY", 580.0)))
    mailbox.put(Envelope(_fill(0)))
    mailbox.put(Envelope(OptionQuotes(ts=2, seq=4, quotes=(_option(500, 1.5, 2),))))
    mailbox.put(Envelope(_quote("SPY", 579.0)))
    first = mailbox.get().message
    assert [q.bid for q in first.quotes] == [1.0]  # taken: the queued burst behind the fence still gathers
    mailbox.put(Envelope(OptionQuotes(ts=3, seq=6, quotes=(_option(500, 2.0, 3), _option(510, 2.0, 3)))))
    rest = _drain(mailbox)
    assert [type(m).__name__ for m in rest] == ["UnderlyingQuote", "OrderFilled", "OptionQuotes", "UnderlyingQuote"]
    assert [(q.contract.strike, q.bid) for q in rest[2].quotes] == [(500, 2.0), (510, 2.0)]
    assert (rest[0].last, rest[3].last) == (580.0, 579.0)
    assert mailbox.metrics.conflated == 1


def test_a_core_hears_every_one_of_the_market_data_it_keeps_in_full_and_the_rest_still_conflates():
    class KeepsPrices(ActorCore):
        lossless = False
        delivered_in_full = (UnderlyingQuote,)

    mailbox = _mailbox(classifier_of(KeepsPrices()))
    mailbox.put(Envelope(OptionQuotes(ts=1, seq=1, quotes=(_option(500, 1.0, 1),))))
    for last in (580.0, 579.0):
        mailbox.put(Envelope(_quote("SPY", last)))
    mailbox.put(Envelope(OptionQuotes(ts=2, seq=4, quotes=(_option(500, 1.5, 2),))))  # not fenced by the prices
    burst, *prices = _drain(mailbox)
    assert [q.bid for q in burst.quotes] == [1.5]
    assert [p.last for p in prices] == [580.0, 579.0]


def test_bursts_queued_one_after_another_gather_into_the_first_each_contracts_newest_quote_winning():
    mailbox = _mailbox(conflating)
    mailbox.put(Envelope(OptionQuotes(ts=1, seq=1, quotes=(_option(500, 1.0, 1), _option(510, 2.0, 1)))))
    mailbox.put(Envelope(OptionQuotes(ts=2, seq=2, quotes=(_option(520, 3.0, 2),))))
    mailbox.put(Envelope(OptionQuotes(ts=3, seq=3, quotes=(_option(500, 1.5, 3), _option(530, 4.0, 3)))))
    mailbox.put(Envelope(OptionQuotes(ts=4, seq=4, quotes=(_option(520, 3.5, 4),))))
    (burst,) = _drain(mailbox)
    assert (burst.seq, burst.ts) == (4, 4)
    assert [(q.contract.strike, q.bid, q.ts) for q in burst.quotes] == [
        (500, 1.5, 3), (510, 2.0, 1), (520, 3.5, 4), (530, 4.0, 3)]
    assert mailbox.metrics.conflated == 3
    mailbox.put(Envelope(OptionQuotes(ts=5, seq=5, quotes=(_option(510, 2.5, 5),))))  # taken: a new burst starts
    (burst,) = _drain(mailbox)
    assert [(q.contract.strike, q.bid) for q in burst.quotes] == [(510, 2.5)]


def test_a_lossless_mailbox_keeps_every_burst():
    mailbox = _mailbox(lossless)
    bursts = [OptionQuotes(ts=n, seq=n, quotes=(_option(500, n, n),)) for n in (1, 2)]
    for burst in bursts:
        mailbox.put(Envelope(burst))
    assert _drain(mailbox) == bursts


def test_lossless_never_conflates_quotes():
    mailbox = _mailbox(lossless)
    for price in (1.0, 2.0):
        mailbox.put(Envelope(_quote("SPY", price)))
    assert [q.last for q in _drain(mailbox)] == [1.0, 2.0]


def test_block_waits_for_room_then_escalates_without_dropping():
    overflowed = []
    mailbox = _mailbox(lossless, bound=2, timeout=0.05, overflow=lambda name, m: overflowed.append(m))
    for n in range(3):
        mailbox.put(Envelope(_fill(n)))
    assert [f.exec_id for f in _drain(mailbox)] == ["e0", "e1", "e2"]
    assert mailbox.metrics.overflows == 1
    assert len(overflowed) == 1


def test_block_unblocks_when_consumer_takes():
    mailbox = _mailbox(lossless, bound=1, timeout=5.0)
    mailbox.put(Envelope(_fill(0)))
    threading.Timer(0.05, mailbox.get).start()
    started = time.perf_counter()
    mailbox.put(Envelope(_fill(1)))
    assert time.perf_counter() - started < 4.0
    assert mailbox.metrics.overflows == 0


def test_drop_oldest_bounds_diagnostics_only():
    def classify(message):
        return Delivery(Policy.DROP_OLDEST) if isinstance(message, Alert) else Delivery(Policy.BLOCK)

    work = WorkCounter()
    mailbox = _mailbox(classify, drop_bound=2, work=work)
    mailbox.put(Envelope(_fill(0)))
    for n in range(4):
        mailbox.put(Envelope(Alert(level="info", source="t", text=str(n))))
    drained = _drain(mailbox)
    assert [getattr(m, "text", getattr(m, "exec_id", None)) for m in drained] == ["e0", "2", "3"]
    assert mailbox.metrics.dropped == 2
    assert work.pending == 3


def test_policies_by_message_class():
    from actors.runtime.mailbox import Policy
    from messages import DecisionRecord

    record = DecisionRecord(strategy_id="", action="skip", rule="entry", detail="no candidate")
    assert conflating(record).policy is Policy.DROP_OLDEST
    assert conflating(_quote("SPY", 1.0)).policy is Policy.CONFLATE
    assert conflating(_fill(1)).policy is Policy.BLOCK
    assert {lossless(m).policy for m in (record, _quote("SPY", 1.0), _fill(1))} == {Policy.BLOCK}


def test_gets_that_give_up_while_puts_wake_them_lose_nothing_and_break_nothing():
    """The actor waits on one lock a put releases: a put may release it just after a timed get gave up. The next wait
    must neither return early for ever nor let a later put release an unheld lock; every message arrives once, in
    order (a put that raised would leave the producer short)."""
    mailbox = _mailbox(lossless, bound=100_000)
    sent, received, errors = 3000, [], []

    def produce() -> None:
        try:
            for n in range(sent):
                mailbox.put(Envelope(_fill(n)))
                if n % 7 == 0:
                    time.sleep(0)  # let the consumer start waiting between puts
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    producer = threading.Thread(target=produce)
    producer.start()
    deadline = time.monotonic() + 60
    while len(received) < sent and time.monotonic() < deadline and not errors:
        try:
            received.append(mailbox.get(timeout=0.0001).message.exec_id)
        except TimeoutError:
            pass
    producer.join(timeout=10)
    assert errors == []
    assert received == [f"e{n}" for n in range(sent)]
    try:
        mailbox.get(timeout=0.01)
    except TimeoutError:
        pass
    else:
        raise AssertionError("an empty mailbox gave a message")


def test_a_mailbox_lazy_for_market_data_is_woken_by_anything_else_and_keeps_one_order():
    mailbox = Mailbox("risk", conflating, 100, 1.0, 10, market_data_wakes_lazily=True)
    mailbox._getting = True  # as while its idle actor waits: whether a put wakes it is decided under the lock
    mailbox.put(Envelope(_quote("SPY", 580.0)))
    assert mailbox._getting, "a quote woke the actor"
    mailbox.put(Envelope(_fill(1)))
    assert not mailbox._getting, "a fill did not wake the actor"
    assert _drain(mailbox) == [_quote("SPY", 580.0), _fill(1)]  # the quote queued ahead is handled first


def test_a_mailbox_lazy_for_market_data_still_delivers_a_lone_quote():
    mailbox = Mailbox("risk", conflating, 100, 1.0, 10, market_data_wakes_lazily=True)
    taken: list = []
    taker = threading.Thread(target=lambda: taken.append(mailbox.get(timeout=30).message), daemon=True)
    taker.start()
    mailbox.put(Envelope(_quote("SPY", 580.0)))
    taker.join(timeout=30)
    assert taken == [_quote("SPY", 580.0)]  # found by the idle actor looking again
