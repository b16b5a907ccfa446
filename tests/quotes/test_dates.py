import datetime as dt

import pytest

from quotes.dates import DateError, PartialDate


@pytest.mark.parametrize(
    ("value", "precision", "human"),
    [
        ("2010-11-15", "day", "15 November 2010"),
        ("2013-03", "month", "March 2013"),
        ("2013", "year", "2013"),
        ("unknown", "unknown", "date unknown"),
        ("", "unknown", "date unknown"),
    ],
)
def test_a_date_keeps_its_precision_and_reads_as_people_write_it(value, precision, human):
    date = PartialDate.parse(value)
    assert date.precision == precision
    assert date.human() == human
    assert PartialDate.parse(date.iso()) == date


@pytest.mark.parametrize("value", ["2013-02-30", "2013-13", "13-03-2013", "March 2013", "2013-3"])
def test_a_malformed_date_says_what_is_wrong(value):
    with pytest.raises(DateError, match=repr(value)):
        PartialDate.parse(value)


def test_a_stored_precision_that_disagrees_with_the_value_is_refused():
    with pytest.raises(DateError, match="month precision, not 'day'"):
        PartialDate.of("2013-03", "day")


def test_a_month_is_never_turned_into_a_day():
    assert PartialDate.parse("2013-03").day is None
    assert PartialDate.parse("2013-03").first_day() == dt.date(2013, 3, 1)
