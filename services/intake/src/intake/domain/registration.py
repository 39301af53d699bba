"""Korean business registration numbers (사업자등록번호): ten digits, the last a check digit over the first nine, so
that a mistyped digit is caught at the door rather than on an invoice."""
from __future__ import annotations

WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
DIGITS = 10


def check_digit(first_nine: str) -> int:
    """The tenth digit the first nine call for: 10 minus the weighted sum, plus the tens of five times the ninth digit,
    modulo 10."""
    if len(first_nine) != DIGITS - 1 or not first_nine.isdigit() or not first_nine.isascii():
        raise ValueError(f"{first_nine!r} is not nine digits")
    digits = [int(c) for c in first_nine]
    total = sum(d * w for d, w in zip(digits, WEIGHTS, strict=True)) + digits[8] * 5 // 10
    return (10 - total % 10) % 10


def is_valid(number: str) -> bool:
    """Ten ASCII digits whose last is the check digit of the others."""
    if len(number) != DIGITS or not number.isdigit() or not number.isascii():
        return False
    return check_digit(number[:-1]) == int(number[-1])


def with_check_digit(first_nine: str) -> str:
    """The whole number: the nine digits and their check digit (for tests and demo data)."""
    return first_nine + str(check_digit(first_nine))
