import pytest

from wire.money import MoneyFormatError, cost_micro_usd, micros_to_usd, usd_to_micros


@pytest.mark.parametrize(("text", "micros"), [("0.40", 400_000), ("1", 1_000_000), ("0.000001", 1), ("12.5", 12_500_000)])
def test_decimal_strings_parse_exactly(text: str, micros: int) -> None:
    assert usd_to_micros(text) == micros


@pytest.mark.parametrize("text", ["-1", "0.0000001", "1e3", "NaN", "abc", ""])
def test_bad_money_strings_are_refused(text: str) -> None:
    with pytest.raises(MoneyFormatError):
        usd_to_micros(text)


@pytest.mark.parametrize(("micros", "text"), [(400_000, "0.40"), (1, "0.000001"), (5_000_000, "5.00"), (-250_000, "-0.25")])
def test_micros_format_as_decimal_usd(micros: int, text: str) -> None:
    assert micros_to_usd(micros) == text
    assert usd_to_micros(text.lstrip("-")) == abs(micros)


def test_cost_rounds_up_to_a_whole_micro_dollar() -> None:
    assert cost_micro_usd(1_000_000, 500_000) == 500_000
    assert cost_micro_usd(25, 500_000) == 13  # 12.5 -> 13
    assert cost_micro_usd(0, 500_000) == 0
    assert cost_micro_usd(3, 1) == 1
