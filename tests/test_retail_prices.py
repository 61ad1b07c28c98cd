"""Azure Retail Prices API pages → tokengate's price table (generator/retail_prices.py).

The fixtures under tests/fixtures/prices/ are pages in the API's own format
(https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices): an
object with `Items`, `NextPageLink` and `Count`; each item one meter in one region, `retailPrice`
per `unitOfMeasure`. The meter names are the API's Azure OpenAI spellings (`gpt 4o 1120 Inp
glbl`, `gpt-4o-mini-0718-Inp-glbl`, `GPT 5 Inpt Glbl`, `... Data Zone`, `... regnl`); meter ids
are made up.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import pricing
from generator.errors import TokengateError
from generator.retail_prices import (
    MODEL_METERS,
    Meter,
    import_pages,
    money_text,
    parse_pages,
    read_meter,
    read_price_file,
    skipped_kind,
    table_json,
)

FIXTURES = Path(__file__).parent / "fixtures" / "prices"
PAGE_1 = FIXTURES / "retail-page-1.json"
PAGE_2 = FIXTURES / "retail-page-2.json"


def _page(path: Path = PAGE_1) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    return data


def _rates(table: pricing.PriceTable, *key: Any) -> tuple[Decimal | None, ...]:
    price = table.find(*key)
    assert price is not None, key
    return price.input, price.cached_input, price.output


def test_gpt_4o_1120_global_is_the_shipped_price() -> None:
    """Rows `gpt 4o 1120 Inp glbl` 0.0025, `... cached Inp glbl` 0.00125, `... Outp glbl` 0.01
    per 1K tokens are $2.50 / $1.25 / $10.00 per 1M: the shipped table's gpt-4o 2024-11-20
    Global entry, to the digit."""
    table = import_pages([PAGE_1]).table
    expected = (Decimal("2.50"), Decimal("1.25"), Decimal("10.00"))
    assert _rates(table, "gpt-4o", "2024-11-20", "Global") == expected
    assert _rates(pricing.shipped(), "gpt-4o", "2024-11-20", "Global") == expected
    assert table.currency == "USD"


def test_1k_meters_are_normalised_to_per_1m_and_1m_meters_kept() -> None:
    table = import_pages([PAGE_1, PAGE_2]).table
    # gpt-4o-mini: 0.00015 / 0.000075 / 0.0006 per 1K
    assert _rates(table, "gpt-4o-mini", "2024-07-18", "Global") == (
        Decimal("0.15"),
        Decimal("0.075"),
        Decimal("0.60"),
    )
    # GPT 5: 1.25 / 0.125 / 10 per 1M; its meters name no version, so any version matches
    assert _rates(table, "gpt-5", "2025-08-07", "Global") == (
        Decimal("1.25"),
        Decimal("0.125"),
        Decimal("10"),
    )


def test_unit_sizes_other_than_1k_and_1m() -> None:
    page = {
        "Items": [
            _item("gpt 4o 1120 Inp glbl", "25", "10K"),
            _item("gpt 4o 1120 Outp glbl", "1", "100"),
        ]
    }
    price = parse_pages([(page, "p.json")]).table.find("gpt-4o", "2024-11-20", "Global")
    assert price is not None
    assert (price.input, price.output) == (Decimal("2500"), Decimal("10000"))


def test_the_price_most_regions_carry_is_common_and_others_are_per_region() -> None:
    """Data Zone in eastus2 and swedencentral at $2.75, in westeurope at $3.025 (fixture)."""
    table = import_pages([PAGE_1]).table
    assert _rates(table, "gpt-4o", "2024-11-20", "DataZone", "eastus2")[0] == Decimal("2.75")
    assert _rates(table, "gpt-4o", "2024-11-20", "DataZone", "westeurope") == (
        Decimal("3.025"),
        Decimal("1.5125"),
        Decimal("12.10"),
    )
    regional = [p for p in table.prices if p.deployment_type == "Regional"]
    assert [(p.region, p.input) for p in regional] == [(None, Decimal("2.75"))]


def test_the_latest_effective_price_wins() -> None:
    """gpt-4o-mini input was 0.000165 from 2024-07-18 and 0.00015 from 2024-10-01."""
    table = import_pages([PAGE_2]).table
    assert _rates(table, "gpt-4o-mini", "2024-07-18", "Global")[0] == Decimal("0.15")
    assert table.effective == "2025-08-07"


def test_batch_provisioned_devtest_audio_realtime_and_unmapped_meters_are_left_out() -> None:
    report = import_pages([PAGE_1])
    assert dict(report.skipped) == {
        "batch": 2,
        "provisioned": 1,
        "not Consumption": 1,
        "audio": 1,
        "realtime": 1,
        "non-primary region": 1,
    }
    assert dict(report.unmapped) == {"text embedding 3 small": 1}
    assert report.items == len(_page()["Items"])
    assert {(p.model, p.version) for p in report.table.prices} == {("gpt-4o", "2024-11-20")}
    # the non-primary eastus row left no eastus entry
    assert all(p.region != "eastus" for p in report.table.prices)


def test_pages_merge_and_the_order_of_pages_does_not_matter() -> None:
    both = import_pages([PAGE_1, PAGE_2]).table
    reversed_ = import_pages([PAGE_2, PAGE_1]).table
    assert both.prices == reversed_.prices
    models = {p.model for p in both.prices}
    assert models == {"gpt-4o", "gpt-4o-mini", "gpt-5"}
    # a page saved twice changes nothing
    assert import_pages([PAGE_1, PAGE_1]).table.prices == import_pages([PAGE_1]).table.prices


def test_own_format_output_is_deterministic_and_reads_back_the_same() -> None:
    table = import_pages([PAGE_1, PAGE_2]).table
    text = table_json(table)
    assert text == table_json(import_pages([PAGE_1, PAGE_2]).table)
    again = pricing.parse_table(json.loads(text), "prices.json")
    assert again == table
    entry = json.loads(text)["prices"][0]
    assert entry == {
        "model": "gpt-4o",
        "version": "2024-11-20",
        "deploymentType": "Global",
        "input": "2.50",
        "cachedInput": "1.25",
        "output": "10.00",
    }


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("2.5000", "2.50"),
        ("10", "10.00"),
        ("1.375", "1.375"),
        ("0.0000250", "0.000025"),
        ("1E+30", "1" + "0" * 30 + ".00"),
        ("1E-30", "0." + "0" * 29 + "1"),
    ],
)
def test_money_text(amount: str, text: str) -> None:
    assert money_text(Decimal(amount)) == text


def test_read_price_file_tells_the_two_formats_apart(tmp_path: Path) -> None:
    shipped = Path(pricing.__file__).resolve().parent.parent / "prices" / "azure-openai.json"
    assert read_price_file(shipped).prices == pricing.shipped().prices
    assert read_price_file(PAGE_1) == import_pages([PAGE_1]).table


@pytest.mark.parametrize(
    ("name", "meter"),
    [
        ("gpt 4o 1120 Inp glbl", Meter("gpt-4o", "2024-11-20", "Global", "input")),
        ("gpt 4o 1120 cached Inp glbl", Meter("gpt-4o", "2024-11-20", "Global", "cachedInput")),
        ("gpt 4o 1120 Outp Data Zone", Meter("gpt-4o", "2024-11-20", "DataZone", "output")),
        ("gpt 4o 1120 Inp DZone", Meter("gpt-4o", "2024-11-20", "DataZone", "input")),
        ("gpt-4o-0806-Inp-glbl", Meter("gpt-4o", "2024-08-06", "Global", "input")),
        ("gpt-4o-0806-Outp-regnl", Meter("gpt-4o", "2024-08-06", "Regional", "output")),
        ("gpt 4o 0513 Input global", Meter("gpt-4o", "2024-05-13", "Global", "input")),
        ("gpt 4o 0513 Output regional", Meter("gpt-4o", "2024-05-13", "Regional", "output")),
        ("gpt-4o-mini-0718-Inp-glbl Tokens", Meter("gpt-4o-mini", "2024-07-18", "Global", "input")),
        ("gpt 4.1 nano cached Inp glbl", Meter("gpt-4.1-nano", None, "Global", "cachedInput")),
        ("GPT 5 Mini Inpt Glbl", Meter("gpt-5-mini", None, "Global", "input")),
        ("GPT 5 outpt Glbl", Meter("gpt-5", None, "Global", "output")),
        (
            "o3 mini 0131 cached input Data Zone",
            Meter("o3-mini", "2025-01-31", "DataZone", "cachedInput"),
        ),
        ("o1 1217 Outp regnl", Meter("o1", "2024-12-17", "Regional", "output")),
    ],
)
def test_meter_names_as_the_api_spells_them(name: str, meter: Meter) -> None:
    assert skipped_kind(name) is None
    assert read_meter(name) == meter


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("gpt 4o 1120 Batch Inp glbl", "batch"),
        ("gpt-4o-mini-0718-Batch-Outp-glbl", "batch"),
        ("gpt 4o mini0718 BatchOutp DataZone", "batch"),
        ("5 mini pp Inp Gl", "priority"),
        ("Provisioned Managed Global", "provisioned"),
        ("gpt-4o-rt-txt-1217 Inp glbl", "realtime"),
        ("gpt4o realtime prvw text inp glbl", "realtime"),
        ("gpt-4o-aud-1217 Inp glbl", "audio"),
        ("gpt-4o-mini-tts-aud-out-glbl", "audio"),
        ("4.1 ft training Dz", "fine-tuning"),
    ],
)
def test_meters_that_are_not_pay_as_you_go_text_tokens(name: str, reason: str) -> None:
    assert skipped_kind(name) == reason


def test_names_that_only_contain_a_skip_word_are_not_skipped() -> None:
    assert skipped_kind("Claude Sonnet Inp glbl") is None
    assert skipped_kind("gpt 4o 1120 Inp glbl") is None


def test_an_unknown_model_is_what_is_left_of_its_name() -> None:
    assert read_meter("gpt 4o 1120 Inp glbl extra") == "gpt 4o 1120 extra"
    assert read_meter("text-embedding-3-small Tokens") == "text embedding 3 small"
    # two deployment types, or input and output at once: not one meter tokengate can read
    assert isinstance(read_meter("gpt 4o 1120 Inp glbl regnl"), str)
    assert isinstance(read_meter("gpt 4o 1120 Inp Outp glbl"), str)


def _item(sku: str, price: str, unit: str = "1K", **extra: Any) -> dict[str, Any]:
    return {
        "currencyCode": "USD",
        "retailPrice": Decimal(price),
        "unitOfMeasure": unit,
        "armRegionName": "eastus2",
        "effectiveStartDate": "2024-11-20T00:00:00Z",
        "skuName": sku,
        "meterName": f"{sku} Tokens",
        "type": "Consumption",
        **extra,
    }


def _error(page: Any, origin: str = "page.json") -> str:
    with pytest.raises(TokengateError) as caught:
        parse_pages([(page, origin)])
    return caught.value.message


def test_bad_pages_are_named() -> None:
    assert _error([]) == "page.json: not a Retail Prices API page (an object with an 'Items' list)"
    assert _error({"Items": {}}).startswith("page.json: not a Retail Prices API page")
    assert _error({"Items": ["x"]}) == "page.json: Items[0]: each item is an object"
    assert _error({"Items": []}).startswith("page.json: no Azure OpenAI token prices")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"retailPrice": "0.0025"},
            "page.json: Items[1].retailPrice: expected a number, not '0.0025'",
        ),
        (
            {"retailPrice": Decimal("-1")},
            "page.json: Items[1].retailPrice: a price must be a number from 0 to 1,000,000",
        ),
        (
            {"retailPrice": Decimal("1e999999")},  # overflowed the Decimal context once
            "page.json: Items[1].retailPrice: a price must be a number from 0 to 1,000,000",
        ),
        (
            {"retailPrice": 0},  # an output price of 0 makes a budget buy unbounded tokens
            "page.json: Items[1].retailPrice: 0 per 1M tokens; a price must be from 0.0001",
        ),
        (
            {"retailPrice": Decimal("2000")},  # per 1K tokens: 2,000,000 per 1M
            "page.json: Items[1].retailPrice: 2000000 per 1M tokens; a price must be from",
        ),
        (
            {"unitOfMeasure": "3K"},
            "page.json: Items[1].unitOfMeasure: 0.01 per 3K is no exact price per 1M tokens",
        ),
        (
            {"currencyCode": "usd"},
            "page.json: Items[1].currencyCode: currency must be an ISO 4217 code such as USD",
        ),
        (
            {"tierMinimumUnits": "x"},
            "page.json: Items[1].tierMinimumUnits: expected a number, not 'x'",
        ),
        (
            {"effectiveStartDate": "yesterday"},
            "page.json: Items[1].effectiveStartDate: 'yesterday' is not an ISO 8601 date",
        ),
        (
            {"unitOfMeasure": "1 Hour"},
            "page.json: Items[1].unitOfMeasure: '1 Hour' is not a number of tokens such as 1K "
            "or 1M",
        ),
        ({"unitOfMeasure": "0K"}, "page.json: Items[1].unitOfMeasure: '0K' is not a number"),
        ({"armRegionName": None}, "page.json: Items[1].armRegionName: expected a string, not None"),
        (
            {"currencyCode": "EUR"},
            "page.json: Items[1].currencyCode: EUR, but page.json: Items[0] is in USD",
        ),
    ],
)
def test_bad_items_are_named_by_file_and_index(change: dict[str, Any], message: str) -> None:
    good = _item("gpt 4o 1120 Inp glbl", "0.0025")
    bad = {**_item("gpt 4o 1120 Outp glbl", "0.01"), **change}
    assert _error({"Items": [good, bad]}).startswith(message)


def test_a_page_with_no_complete_model_is_an_error_not_an_empty_table() -> None:
    """An input meter without its output meter is no token price: importing it used to write
    an empty table and exit 0."""
    message = _error({"Items": [_item("gpt 4o 1120 Inp glbl", "0.0025")]})
    assert message.startswith("page.json: no model has both an input and an output price")


OWN_ENTRY = {"model": "gpt-4o", "deploymentType": "Global", "input": "2.50", "output": "10.00"}


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([OWN_ENTRY, OWN_ENTRY], "t.json: prices[1]: the same model, version, deployment type"),
        ([{**OWN_ENTRY, "output": "1e999999"}], "t.json: prices[0].output: a price must be a"),
        ([{**OWN_ENTRY, "input": "0"}], "t.json: prices[0].input: a price must be a number from"),
        ([{**OWN_ENTRY, "input": "1E-100"}], "t.json: prices[0].input: a price must be a"),
    ],
)
def test_own_format_prices_keep_the_spec_schemas_bounds(
    entries: list[dict[str, str]], message: str
) -> None:
    """The bounds of the spec schema's prices ($defs/price, input and output at least 0.0001)
    hold for a --prices file too: a price of 0 or 1E-100 made a budget's quota overflow
    (DivisionImpossible, a traceback), 1e999999 overflowed the cost arithmetic."""
    with pytest.raises(TokengateError) as caught:
        pricing.parse_table({"prices": entries}, "t.json")
    assert caught.value.message.startswith(message)


def test_two_prices_for_one_meter_on_one_date_are_an_error() -> None:
    page = {
        "Items": [_item("gpt 4o 1120 Inp glbl", "0.0025"), _item("gpt 4o 1120 Inp glbl", "0.003")]
    }
    message = _error(page)
    assert message.startswith("page.json: Items[1]: 'gpt 4o 1120 Inp glbl' in eastus2 costs 3.000")
    assert "page.json: Items[0] says 2.5000 from the same date" in message


def test_second_page_errors_name_that_page() -> None:
    page = copy.deepcopy(_page(PAGE_2))
    page["Items"][3]["unitOfMeasure"] = "1/Hour"
    with pytest.raises(TokengateError) as caught:
        parse_pages([(_page(), "one.json"), (page, "two.json")])
    assert caught.value.message.startswith("two.json: Items[3].unitOfMeasure: '1/Hour'")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{", "p.json:1:2: not JSON"),
        (b"\xff\xfe", "p.json: not UTF-8 text"),
        (b"[1]", "p.json: neither a Retail Prices API page"),
        (b'{"prices": 3}', "p.json: not a price table"),
        (b"[" * 100_000 + b"]" * 100_000, "p.json: not JSON tokengate can read: nested too deeply"),
        (b'{"prices": [' + b"9" * 5000 + b"]}", "p.json: not JSON tokengate can read: Exceeds"),
    ],
)
def test_bad_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(content)
    with pytest.raises(TokengateError) as caught:
        read_price_file(path)
    assert caught.value.message.startswith(str(tmp_path / message))


def test_docs_list_every_meter_name_tokengate_maps() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "pricing.md").read_text(encoding="utf-8")
    for words, (model, version) in MODEL_METERS.items():
        assert f"| `{words}` | {model} | {version or 'any'} |" in doc


HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from(
        [Decimal("NaN"), Decimal("Infinity"), Decimal("-0.0"), Decimal("1E+999"), Decimal("1E-999")]
    ),
    st.text(max_size=12),
    st.sampled_from(["1K", "1M", "0K", "1 Hour", "Consumption", "glbl", "\x00", "9" * 40 + "K"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
FIELDS = st.sampled_from(
    [
        "currencyCode",
        "retailPrice",
        "unitOfMeasure",
        "armRegionName",
        "effectiveStartDate",
        "skuName",
        "meterName",
        "type",
        "isPrimaryMeterRegion",
        "tierMinimumUnits",
    ]
)


@settings(max_examples=300, deadline=None)
@given(changes=st.lists(st.tuples(st.integers(0, 35), FIELDS, HOSTILE), min_size=1, max_size=4))
def test_hostile_items_give_a_table_or_a_located_message(
    changes: list[tuple[int, str, Any]],
) -> None:
    """Whatever a page's fields hold, the answer is a table or a TokengateError naming the file."""
    pages = [_page(PAGE_1), _page(PAGE_2)]
    items = pages[0]["Items"] + pages[1]["Items"]
    for index, key, value in changes:
        items[index % len(items)][key] = value
    try:
        table = parse_pages([(pages[0], "one.json"), (pages[1], "two.json")]).table
    except TokengateError as error:
        assert error.message.startswith(("one.json", "two.json"))
        return
    for price in table.prices:
        assert all(r.is_finite() and r >= 0 for r in (price.input, price.output))
    assert table_json(table) == table_json(table)


def test_every_common_price_of_the_fixture_pages_is_the_shipped_one() -> None:
    """The fixture rows carry the list prices the shipped table was read from (Data Zone and
    Regional at 1.1x Global for gpt-4o 2024-11-20), so the meter mapping lands on the shipped
    keys: a name read as the wrong version or deployment type would differ here."""
    table = import_pages([PAGE_1, PAGE_2]).table
    shipped = pricing.shipped()
    checked = 0
    for price in table.prices:
        if price.region is not None:
            continue
        same = [
            p
            for p in shipped.prices
            if (p.model, p.deployment_type, p.region) == (price.model, price.deployment_type, None)
            and price.version in (None, p.version)
        ]
        assert same, price
        for entry in same:
            assert (entry.input, entry.cached_input, entry.output) == (
                price.input,
                price.cached_input,
                price.output,
            )
            checked += 1
    assert checked == 5
