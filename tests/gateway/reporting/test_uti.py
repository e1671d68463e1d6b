"""UTIs: one per repo, the same on both sides, led by the collateral taker's valid LEI."""

import pytest

from gateway.members.validation import lei_with_check_digits
from gateway.reporting.derive import records_of
from gateway.reporting.exceptions import MemberLeiInvalid
from gateway.reporting.records import Side
from gateway.reporting.uti import UTI_PATTERN, make_uti, validate_lei
from tests.gateway.reporting.factories import BUYER_LEI, INSTRUMENTS, PARTIES, PRICES, lifecycle


def test_uti_is_deterministic_52_characters_and_starts_with_the_generator_lei() -> None:
    uti = make_uti(generator_lei=BUYER_LEI, opening_tx_hash="0x" + "ab" * 32, repo_id=7)
    assert uti == make_uti(generator_lei=BUYER_LEI, opening_tx_hash="0x" + "AB" * 32, repo_id=7)
    assert len(uti) == 52 and UTI_PATTERN.fullmatch(uti) and uti.startswith(BUYER_LEI)
    assert uti != make_uti(generator_lei=BUYER_LEI, opening_tx_hash="0x" + "ab" * 32, repo_id=8)


def test_both_sides_share_one_uti_for_every_event_of_the_repo() -> None:
    give = records_of(PARTIES, lifecycle(), side=Side.GIVE, instruments=INSTRUMENTS, prices=PRICES)
    take = records_of(PARTIES, lifecycle(), side=Side.TAKE, instruments=INSTRUMENTS, prices=PRICES)
    assert {r.uti for r in give} == {r.uti for r in take} and len({r.uti for r in give}) == 1


def test_lei_checksum_is_iso_17442_mod_97() -> None:
    good = lei_with_check_digits("5299000J2N45DDNE4Y")
    assert validate_lei(good, whose="x") == good
    wrong_digits = good[:-2] + f"{(int(good[-2:]) + 1) % 100:02d}"
    for bad in (wrong_digits, good.lower(), good[:-1], "I" * 18 + "00"):
        with pytest.raises(MemberLeiInvalid):
            validate_lei(bad, whose="x")


def test_a_member_with_an_invalid_lei_cannot_be_reported() -> None:
    from dataclasses import replace

    bad = replace(PARTIES, seller_lei=PARTIES.seller_lei[:-2] + "00")
    with pytest.raises(MemberLeiInvalid, match="seller"):
        records_of(bad, lifecycle(), side=Side.GIVE, instruments=INSTRUMENTS, prices=PRICES)
