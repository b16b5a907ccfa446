"""The scheduler's leadership lock on SQLite (a file lock) and PostgreSQL (an advisory lock)."""

from qotd.leadership import FileLeadership, PostgresLeadership, leadership_for
from quotes.store import Store


def test_leadership_is_exclusive_and_passes_on_when_released(store):
    first, second = leadership_for(store), leadership_for(Store(store.engine))
    expected = FileLeadership if store.is_sqlite else PostgresLeadership
    assert isinstance(first, expected)
    try:
        assert first.try_acquire()
        assert first.holds()
        assert not second.try_acquire()
        assert not second.holds()
        first.release()
        assert not first.holds()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()
