"""The one validator module for ID numbers, phones, bank cards, names and money."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hardship.core.idcard import (
    FALSE_WORDS,
    TRUE_WORDS,
    FieldError,
    check_char,
    luhn_ok,
    parse_card_number,
    parse_flag,
    parse_id_number,
    parse_name,
    parse_phone,
)
from hardship.core.money import fen_of, format_fen, parse_fen


def test_standard_example():
    parsed = parse_id_number("11010519491231002X")
    assert parsed.number == "11010519491231002X"
    assert parsed.birth_date == date(1949, 12, 31) and parsed.gender == "female"
    assert parse_id_number("11010519491231002x").number == "11010519491231002X"


@pytest.mark.parametrize("wrong", [c for c in "0123456789X" if c != "X"])
def test_every_wrong_check_character(wrong):
    with pytest.raises(FieldError):
        parse_id_number("11010519491231002" + wrong)


@pytest.mark.parametrize("body", ["110105194902300", "110105194913010", "110105190000000", "110105199902290"])
def test_impossible_dates(body):
    number = body[:6] + body[6:14] + "001"
    number = number[:17]
    with pytest.raises(FieldError):
        parse_id_number(number + check_char(number))


def test_future_birth_date():
    number = "11010520991231001"
    with pytest.raises(FieldError):
        parse_id_number(number + check_char(number), today=date(2026, 11, 22))


def test_fifteen_digit_conversion():
    parsed = parse_id_number("110105491231002")
    assert parsed.number == "11010519491231002X" and parsed.gender == "female"


@pytest.mark.parametrize("bad", ["", "123", "1101051949123100", "11010519491231002Y", "A1010519491231002X"])
def test_malformed(bad):
    with pytest.raises(FieldError):
        parse_id_number(bad)


@st.composite
def valid_ids(draw):
    region = draw(st.sampled_from(["110105", "130102", "130503", "659001"]))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)))
    seq = draw(st.integers(0, 999))
    first = f"{region}{born:%Y%m%d}{seq:03d}"
    return first + check_char(first)


@given(valid_ids())
def test_generated_valid_ids_pass(number):
    assert parse_id_number(number).number == number


@given(valid_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_character_change_fails(number, position, char):
    if number[position] == char or (position < 17 and char == "X"):
        return
    changed = number[:position] + char + number[position + 1:]
    with pytest.raises(FieldError):
        parse_id_number(changed)


def test_phones():
    assert parse_phone("138 1234 5678") == "13812345678"
    assert parse_phone("+8613812345678") == "13812345678"
    assert parse_phone("0311-86012345") == "0311-86012345"
    for bad in ["12812345678", "1381234567", "86012345", "abc"]:
        with pytest.raises(FieldError):
            parse_phone(bad)


def test_cards():
    assert parse_card_number("6222 0202 0011 2233 446") == ("6222020200112233446", True)
    assert parse_card_number("6222020200112233445") == ("6222020200112233445", False)
    assert luhn_ok("4111111111111111")
    for bad in ["622202020011223", "62220202001122334461", "6222x20200112233"]:
        with pytest.raises(FieldError):
            parse_card_number(bad)


def test_names():
    assert parse_name("  阿依古丽·买买提 ") == "阿依古丽·买买提"
    assert parse_name("John Smith") == "John Smith"
    for bad in ["", " ", "名" * 51, "<script>", "12345"]:
        with pytest.raises(FieldError):
            parse_name(bad)


@pytest.mark.parametrize("raw, fen", [("600.00", 60000), ("600", 60000), ("0.01", 1), ("1.5", 150),
                                      ("100000000.00", 10_000_000_000), (12, 1200)])
def test_money_parse(raw, fen):
    assert parse_fen(raw) == fen
    assert parse_fen(format_fen(fen)) == fen


@pytest.mark.parametrize("raw", ["0", "0.00", "-1", "1.001", "1.100", "abc", "", None, 1.5, True, "1e3",
                                 "100000000.01", " 1 2"])
def test_money_refused(raw):
    with pytest.raises(FieldError):
        parse_fen(raw)


@pytest.mark.parametrize("word", sorted(TRUE_WORDS | FALSE_WORDS))
def test_parse_flag_words(word):
    assert parse_flag(word) is (word in TRUE_WORDS)
    assert parse_flag(f"  {word.upper()} ") is (word in TRUE_WORDS)


@given(st.text(max_size=8))
def test_parse_flag_refuses_any_other_text(text):
    word = text.strip().lower()
    if not word:
        assert parse_flag(text, default=True) is True
    elif word in TRUE_WORDS | FALSE_WORDS:
        assert parse_flag(text) is (word in TRUE_WORDS)
    else:
        with pytest.raises(FieldError):
            parse_flag(text)


@pytest.mark.parametrize(("fen", "plain", "grouped"), [
    (0, "0.00", "0.00"), (5, "0.05", "0.05"), (120_000_000, "1200000.00", "1,200,000.00"),
    (-3_000_000, "-30000.00", "-30,000.00"), (-7, "-0.07", "-0.07")])
def test_format_fen_and_back(fen, plain, grouped):
    assert format_fen(fen) == plain and format_fen(fen, grouped=True) == grouped
    assert fen_of(plain) == fen


@given(st.integers(min_value=-10**14, max_value=10**14))
def test_fen_of_inverts_format_fen(fen):
    assert fen_of(format_fen(fen)) == fen
