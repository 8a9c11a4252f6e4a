"""The worker's group commit: many threads, correct results each, one bad request alone."""

import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from portal.extensions import db
from portal.outbox.groupcommit import GroupCommit

ROWS = Table("group_commit_probe", MetaData(), Column("value", Integer, primary_key=True))


@pytest.fixture
def probe_table(app):
    with app.app_context():
        ROWS.create(db.engine)
    yield
    with app.app_context():
        ROWS.drop(db.engine)


def _apply(connection, requests):
    results = []
    for value in requests:
        if value < 0:
            raise ValueError(f"refused {value}")
        connection.execute(insert(ROWS).values(value=value))
        results.append(value * 2)
    return results


def _run_threads(app, values):
    group, answers = GroupCommit(_apply), {}
    barrier = threading.Barrier(len(values))

    def worker(value):
        with app.app_context():
            barrier.wait()
            try:
                answers[value] = group.run(value)
            except ValueError as error:
                answers[value] = str(error)

    threads = [threading.Thread(target=worker, args=(v,)) for v in values]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_every_thread_gets_its_own_result_and_everything_is_committed(app, probe_table):
    values = list(range(1, 41))
    assert _run_threads(app, values) == {v: v * 2 for v in values}
    with app.app_context():
        assert sorted(db.session.scalars(select(ROWS.c.value))) == values


def test_a_bad_request_fails_only_its_own_thread(app, probe_table):
    values = [*range(1, 16), -1, *range(16, 31)]
    answers = _run_threads(app, values)
    assert answers[-1] == "refused -1"
    assert {v: a for v, a in answers.items() if v > 0} == {v: v * 2 for v in values if v > 0}
    with app.app_context():
        assert sorted(db.session.scalars(select(ROWS.c.value))) == list(range(1, 31))
