"""Korean business registration numbers and their check digit, without a database."""
from __future__ import annotations

import pytest

from intake.domain.registration import check_digit, is_valid, with_check_digit

# each ten digits, the last computed by the algorithm from the first nine (2208162517 is a real company's)
VALID = ["2208162517", "1234567891", "1208147521", "1000000009", "1111111119", "2222222227", "9999999997"]


@pytest.mark.parametrize("number", VALID)
def test_a_number_whose_last_digit_is_the_check_digit_of_the_others_is_valid(number: str) -> None:
    assert is_valid(number)
    assert with_check_digit(number[:9]) == number


def test_the_check_digit_weighs_the_first_nine_and_adds_the_tens_of_five_times_the_ninth() -> None:
    # 1·1 + 2·3 + 3·7 + 4·1 + 5·3 + 6·7 + 7·1 + 8·3 + 9·5 = 165, + floor(9·5 / 10) = 4 → 169 → (10 - 9) % 10 = 1
    assert check_digit("123456789") == 1
    # a sum ending in 0 gives 0, not 10
    assert check_digit("000000000") == 0


@pytest.mark.parametrize("number", VALID)
def test_any_single_digit_changed_is_refused(number: str) -> None:
    for position in range(10):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            changed = number[:position] + digit + number[position + 1:]
            assert not is_valid(changed), (changed, position)


FULL_WIDTH = "".join(chr(0xFF10 + int(d)) for d in "1234567891")


@pytest.mark.parametrize("text", ["", "123456789", "12345678901", "123-45-6789", "12345678a1", FULL_WIDTH],
                         ids=["empty", "nine-digits", "eleven-digits", "dashes", "a-letter", "full-width-digits"])
def test_anything_but_ten_ascii_digits_is_not_a_number(text: str) -> None:
    assert not is_valid(text)


def test_a_check_digit_is_asked_of_nine_digits_only() -> None:
    with pytest.raises(ValueError):
        check_digit("12345678")
