"""Money units. Money is integer everywhere; floats never carry it.

- Balances, costs, payouts: micro-USD (1e-6 USD), `int`.
- Prices: micro-USD per million tokens, `int` (so "$0.40 / Mtok" is 400_000).
- The API shows prices as decimal strings of USD per million tokens ("0.40").

Rounding, stated once: the cost of `tokens` at `price` (micro-USD per Mtok) is
ceil(tokens * price / 1_000_000) micro-USD — a fraction of a micro-dollar is
charged as one whole one. `cost_micro_usd` is the only place this happens.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MICROS_PER_USD = 1_000_000
TOKENS_PER_PRICE_UNIT = 1_000_000


class MoneyFormatError(ValueError):
    """A decimal money string that cannot be represented exactly."""


def usd_to_micros(text: str) -> int:
    """Parse a decimal USD string ("0.40") into integer micro-USD, exactly.

    Refuses floats' cousins: exponents, NaN, negatives and more than six decimals.
    """
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError) as exc:
        raise MoneyFormatError(f"{text!r} is not a decimal number such as \"0.40\"") from exc
    if not value.is_finite() or "e" in text.lower():
        raise MoneyFormatError(f"{text!r} is not a plain decimal number such as \"0.40\"")
    if value < 0:
        raise MoneyFormatError(f"{text!r} is negative")
    micros = value * MICROS_PER_USD
    if micros != micros.to_integral_value():
        raise MoneyFormatError(f"{text!r} has more than 6 decimal places")
    return int(micros)


def micros_to_usd(micros: int) -> str:
    """Format integer micro-USD as a decimal USD string with at least 2 decimals."""
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), MICROS_PER_USD)
    digits = f"{frac:06d}".rstrip("0")
    if len(digits) < 2:
        digits = digits.ljust(2, "0")
    return f"{sign}{whole}.{digits}"


def cost_micro_usd(tokens: int, price_micros_per_mtok: int) -> int:
    """Cost of `tokens` at a per-million-token price, rounded up to a whole micro-USD."""
    if tokens < 0 or price_micros_per_mtok < 0:
        raise ValueError("tokens and price must be non-negative")
    return -(-tokens * price_micros_per_mtok // TOKENS_PER_PRICE_UNIT)
