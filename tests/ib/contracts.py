"""IB's security definitions as the test gateway plays them: the con ids of stocks, indexes and options, the trading
classes an option is listed in, and the answers to reqContractDetails and reqSecDefOptParams.

Options are listed for every underlying the test has priced: the chain model's expiries (up to 70 days) and strikes
around the price. SPX is listed twice, in the AM-settled monthly class and the PM-settled weekly class; an option
gets a con id per (contract, trading class), handed out the first time it is named.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from actors.market_data.chain import listed_expiries, listed_strikes
from messages import OptionContract
from tests.ib import wire

STOCK_CON_IDS = {"SPY": 756733, "QQQ": 320227571, "IWM": 9579970}
VIX_CON_ID = 13455763
INDEX_CON_IDS = {"VIX": VIX_CON_ID, "SPX": 416904}
MONTHLY_CLASS = {"SPX": "SPX"}
"""Index options listed in two classes: AM-settled monthlies (third Fridays) and PM-settled weeklies (every expiry,
third Fridays included) — the same symbol, expiry, strike and right, told apart only by the trading class."""
WEEKLY_CLASS = {"SPX": "SPXW"}
FIRST_OPTION_CON_ID = 700_000_000

Send = Callable[[list[object]], None]


class ContractDirectory:
    def __init__(self, spots: Mapping[str, float], clock: Callable[[], int]) -> None:
        self._spots = spots
        """The underlyings' prices the test set: what is listed, and around which strikes."""
        self._clock = clock
        self._con_ids: dict[tuple[OptionContract, str], int] = {}
        self.option_by_con_id: dict[int, OptionContract] = {}

    def _con_id(self, contract: OptionContract, trading_class: str) -> int:
        key = (contract, trading_class)
        if key not in self._con_ids:
            con_id = FIRST_OPTION_CON_ID + len(self._con_ids)
            self._con_ids[key], self.option_by_con_id[con_id] = con_id, contract
        return self._con_ids[key]

    @staticmethod
    def wire_stock(symbol: str) -> wire.WireContract:
        return wire.WireContract(con_id=STOCK_CON_IDS[symbol], symbol=symbol, sec_type="STK", exchange="SMART",
                                 primary_exchange="ARCA", currency="USD", local_symbol=symbol, trading_class=symbol)

    def wire_option(self, contract: OptionContract, trading_class: str = "") -> wire.WireContract:
        trading_class = trading_class or WEEKLY_CLASS.get(contract.symbol, contract.symbol)
        return wire.WireContract(con_id=self._con_id(contract, trading_class), symbol=contract.symbol, sec_type="OPT",
                                 last_trade_date=f"{contract.expiry:%Y%m%d}", strike=contract.strike,
                                 right=contract.right, multiplier="100", exchange="SMART", currency="USD",
                                 local_symbol=f"{contract.symbol} {contract.expiry:%y%m%d}{contract.right}"
                                              f"{int(contract.strike * 1000):08d}",
                                 trading_class=trading_class)

    def _listed(self, symbol: str) -> tuple[list[dt.date], list[float]]:
        spot = self._spots[symbol]
        return listed_expiries(self._clock(), 0, 70), listed_strikes(spot)

    def _classes(self, symbol: str) -> list[tuple[str, list[dt.date], list[float]]]:
        """(trading class, expiries, strikes) as reqSecDefOptParams lists them: one class for an equity; for SPX the
        third-Friday monthlies (SPX) and the weeklies of every expiry (SPXW)."""
        expiries, strikes = self._listed(symbol)
        if symbol not in MONTHLY_CLASS:
            return [(symbol, expiries, strikes)]
        monthly = [e for e in expiries if e.weekday() == 4 and 15 <= e.day <= 21]
        return [(MONTHLY_CLASS[symbol], monthly, strikes), (WEEKLY_CLASS[symbol], expiries, strikes)]

    def answer_option_params(self, send: Send, req_id: int, symbol: str, con_id: int) -> None:
        """reqSecDefOptParams: every trading class of `symbol`, listed on SMART and CBOE."""
        if symbol in self._spots:
            for trading_class, expiries, strikes in self._classes(symbol):
                for exchange in ("SMART", "CBOE"):
                    send(wire.sec_def_opt_params(req_id, exchange, con_id, trading_class, "100",
                                                 [f"{e:%Y%m%d}" for e in expiries], strikes))
        send(wire.sec_def_opt_params_end(req_id))

    def answer_details(self, send: Send, req_id: int, contract: wire.WireContract) -> None:
        """reqContractDetails: every listed contract `contract` matches (its unset fields match anything), or 200."""
        found: list[tuple[wire.WireContract, int]] = []
        if contract.sec_type == "STK" and contract.symbol in STOCK_CON_IDS:
            found.append((wire.WireContract(con_id=STOCK_CON_IDS[contract.symbol], symbol=contract.symbol,
                                            sec_type="STK", exchange="SMART", primary_exchange="ARCA",
                                            currency="USD", local_symbol=contract.symbol,
                                            trading_class=contract.symbol), 0))
        elif contract.sec_type == "IND" and contract.symbol in INDEX_CON_IDS:
            found.append((wire.WireContract(con_id=INDEX_CON_IDS[contract.symbol], symbol=contract.symbol,
                                            sec_type="IND", exchange="CBOE", currency="USD",
                                            local_symbol=contract.symbol), 0))
        elif contract.sec_type == "OPT" and contract.symbol in self._spots:
            under_con_id = STOCK_CON_IDS.get(contract.symbol) or INDEX_CON_IDS[contract.symbol]
            for trading_class, expiries, strikes in self._classes(contract.symbol):
                if contract.trading_class and contract.trading_class != trading_class:
                    continue
                for expiry in expiries:
                    if contract.last_trade_date and contract.last_trade_date[:8] != f"{expiry:%Y%m%d}":
                        continue
                    for strike in strikes:
                        if contract.strike and abs(contract.strike - strike) > 1e-9:
                            continue
                        for right in ("C", "P"):
                            if contract.right and contract.right[0] != right:
                                continue
                            option = OptionContract(contract.symbol, expiry, strike, right)
                            found.append((self.wire_option(option, trading_class), under_con_id))
        if not found:
            send(wire.error(req_id, 200, "No security definition has been found for the request"))
            return
        for details, under_con_id in found:
            send(wire.contract_details(req_id, details, market_name=details.symbol, min_tick=0.01,
                                       long_name=details.symbol, under_con_id=under_con_id,
                                       under_symbol=details.symbol if under_con_id else "",
                                       under_sec_type="STK" if under_con_id else "",
                                       real_expiration_date=details.last_trade_date))
        send(wire.contract_details_end(req_id))

    def resolve_option(self, contract: wire.WireContract) -> OptionContract | None:
        """The option a request names: by its con id, or by its fields when it carries none."""
        if contract.con_id in self.option_by_con_id:
            return self.option_by_con_id[contract.con_id]
        if contract.sec_type != "OPT" or not contract.last_trade_date:
            return None
        expiry = dt.datetime.strptime(contract.last_trade_date[:8], "%Y%m%d").date()
        right = contract.right[:1]
        return OptionContract(contract.symbol, expiry, float(contract.strike), right)  # type: ignore[arg-type]
