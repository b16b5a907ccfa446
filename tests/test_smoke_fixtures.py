def test_today_is_fixed_once_schema_is_up_to_date(qotd):
    assert qotd("db", "upgrade")[0] == 0
    code, first, _ = qotd("today")
    assert code == 0
    assert qotd("today")[1] == first
