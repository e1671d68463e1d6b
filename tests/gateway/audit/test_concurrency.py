"""Concurrent appends serialize: no lost or duplicate sequence numbers, the chain stays intact. Two engines on
one database stand for two gateway processes: their writers share no thread lock, only the database's."""

from concurrent.futures import ThreadPoolExecutor

from gateway.db import audit_log
from gateway.db.session import make_engine, make_session_factory


def test_concurrent_appends_keep_the_chain(any_db_url: str) -> None:
    engines = [make_engine(any_db_url), make_engine(any_db_url)]
    factories = [make_session_factory(engine) for engine in engines]

    def append(i: int) -> int:
        with factories[i % 2]() as session:
            entry = audit_log.append(
                session, actor=f"user:{i}", action="concurrent", object_type="t", object_id=str(i), change={"i": i}
            )
            session.commit()
            return entry.sequence

    with ThreadPoolExecutor(max_workers=8) as pool:
        sequences = list(pool.map(append, range(40)))
    assert sorted(sequences) == list(range(1, 41))
    with factories[0]() as session:
        result = audit_log.verify(session)
    for engine in engines:
        engine.dispose()
    assert result.ok and result.entries == 40
