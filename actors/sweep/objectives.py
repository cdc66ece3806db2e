"""What a sweep report can rank parameter sets by. Its own light module: the CLI offers these as choices without
importing the report (pandas and plotly), which would cost every `thetanode` command seconds."""

OBJECTIVES = {
    "median_pnl": ("median P&L $", False),
    "p5_pnl": ("5th percentile P&L $", False),
    "loss_probability": ("probability of loss", True),
    "max_drawdown": ("worst max drawdown $", True),
}
"""Objective → (column title, smaller is better)."""
