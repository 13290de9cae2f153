"""Money as whole numbers: amounts are kept exactly (integers of a small unit, or fractions) and
rounded to whole cents once, half up, where they are shown. No float ever holds an amount."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

MICROS_PER_UNIT = 1_000_000  # a currency unit (a dollar) in millionths
MICROS_PER_CENT = 10_000


def round_half_up(value: Fraction | int) -> int:
    """``value`` rounded to a whole number, half away from zero (how an amount becomes whole cents)."""
    exact = Fraction(value)
    rounded = (abs(exact.numerator) * 2 + exact.denominator) // (2 * exact.denominator)
    return rounded if exact >= 0 else -rounded


def micros_as_cents(micros: int) -> Fraction:
    return Fraction(micros, MICROS_PER_CENT)


def micros_of(amount: str) -> int:
    """A decimal amount of currency units written as text ("-0.01700") in millionths, exactly, half
    away from zero past the sixth decimal; ValueError for text that is not a finite number."""
    try:
        exact = Decimal(amount)
    except ArithmeticError:
        exact = Decimal("NaN")
    if not exact.is_finite():
        raise ValueError(f"{amount!r} is not an amount")
    return round_half_up(Fraction(exact) * MICROS_PER_UNIT)
