"""Concurrent appends serialize: no lost or duplicate sequence numbers, the chain stays intact."""

from concurrent.futures import ThreadPoolExecutor

from gateway.audit import log as audit_log
from gateway.db.session import make_engine, make_session_factory


def test_concurrent_appends_keep_the_chain(any_db_url: str) -> None:
    engine = make_engine(any_db_url)
    sessions = make_session_factory(engine)

    def append(i: int) -> int:
        with sessions() as session:
            entry = audit_log.append(
                session, actor=f"user:{i}", action="concurrent", object_type="t", object_id=str(i), change={"i": i}
            )
            session.commit()
            return entry.sequence

    with ThreadPoolExecutor(max_workers=8) as pool:
        sequences = list(pool.map(append, range(40)))
    assert sorted(sequences) == list(range(1, 41))
    with sessions() as session:
        result = audit_log.verify(session)
    engine.dispose()
    assert result.ok and result.entries == 40
