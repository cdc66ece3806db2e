"""The message catalogue: every message the actors exchange, plus codecs and node configuration."""

from messages.base import CONTRACT_MULTIPLIER, Command, Event, Leg, Legs, Message, OptionContract
from messages.catalogue import MESSAGE_BY_NAME, MESSAGE_TYPES, AnyMessage
from messages.decisions import CloseStrategy, DecisionRecord, OpenStrategy, RollStrategy
from messages.enums import (
    AlertLevel,
    BreakerState,
    ConnectionState,
    OrderOutcome,
    OrderPurpose,
    StorageState,
    TimerKey,
    TradingState,
)
from messages.ib import (
    IbCancelOrder,
    IbCommission,
    IbConnected,
    IbDisconnected,
    IbError,
    IbExecution,
    IbOpenOrders,
    IbOrderNotSent,
    IbOrderStatus,
    IbOrderSubmitted,
    IbPlaceOrder,
    IbResync,
    IbWhatIf,
    IbWhatIfResult,
)
from messages.market import (
    BadTick,
    ChainRequest,
    ChainSnapshot,
    IndexQuote,
    IvHistoryRestored,
    IvPoint,
    IvSample,
    MarketSessionChanged,
    OptionQuote,
    PortfolioGreeks,
    QuoteStale,
    RawQuote,
    StrategyGreeks,
    SubscribeQuotes,
    UnderlyingQuote,
    UnsubscribeQuotes,
    VolatilityStats,
)
from messages.orders import (
    REJECT_NOT_SENT,
    CancelAllOrders,
    CancelOrder,
    CancelRejected,
    ModifyOrder,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderModified,
    OrderRejected,
    OrderTerminated,
    PlaceOrder,
)
from messages.positions import (
    AccountValue,
    BrokerAccountValues,
    BrokerPortfolio,
    BrokerPosition,
    BrokerPositionsSnapshot,
    PortfolioItem,
    ReconciliationResult,
    StrategyClosed,
    StrategyMarked,
    StrategyOpened,
    StrategyPositionChanged,
    StrategyReduced,
    StrategyRolled,
)
from messages.risk import (
    BreakerStateChanged,
    Halt,
    IntentApproved,
    IntentDenied,
    Resume,
    TradingStateChanged,
    WhatIfAnswered,
    WhatIfRequested,
)
from messages.system import (
    ActorFailed,
    ActorRestarted,
    Alert,
    BrokerConnectionChanged,
    CoreSnapshot,
    FlushJournal,
    JournalFlushed,
    NodeStarted,
    NodeStopping,
    StopNode,
    StorageStateChanged,
    TimerFired,
)

__all__ = [name for name in dir() if not name.startswith("_")]
