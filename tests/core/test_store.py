"""The store interface on both backends: indexes, atomic updates, caps and eviction.

Every test runs against the memory store and against a Redis store on the session's
private redis-server: the promises are the backend's, not one implementation's.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import redis
from pydantic import BaseModel

from agent33_core.errors import InvalidTransition, QuotaExceeded
from agent33_core.redis_store import RedisRecordStore
from agent33_core.store import MemoryRecordStore, StoreSpec
from tests.redis_server import counted

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Job(BaseModel):
    id: str
    tenant_id: str
    status: str
    started_at: datetime
    payload: str = ""


def job_spec(*, max_records: int = 100, max_bytes: int = 10_000, evicted=None) -> StoreSpec:
    """Jobs of 100 bytes plus their payload; `running` is live."""
    return StoreSpec(
        noun="job",
        status_of=lambda job: job.status,
        time_of=lambda job: job.started_at,
        size_of=lambda job: 100 + len(job.payload),
        live_statuses=frozenset({"running"}),
        max_records=max_records,
        max_bytes=max_bytes,
        on_evict=None if evicted is None else evicted.append,
    )


@pytest.fixture(params=["memory", "redis"])
def make_store(request):
    """`make_store(max_records=, max_bytes=, evicted=)` on this test's backend."""
    client = None
    if request.param == "redis":
        client = redis.Redis.from_url(request.getfixturevalue("redis_server").url)
        client.flushdb()

    def build(*, max_records: int = 100, max_bytes: int = 10_000, evicted=None, name="jobs"):
        spec = job_spec(max_records=max_records, max_bytes=max_bytes, evicted=evicted)
        if client is None:
            return MemoryRecordStore(spec)
        return RedisRecordStore(spec, client=client, prefix="test", name=name, model=Job)

    yield build
    if client is not None:
        client.close()


def job(n: int, *, tenant: str = "a", status: str = "running", payload: str = "") -> Job:
    return Job(
        id=f"job-{n:04d}",
        tenant_id=tenant,
        status=status,
        started_at=T0 + timedelta(minutes=n),
        payload=payload,
    )


def finish(record: Job) -> Job:
    return record.model_copy(update={"status": "done"})


def ids(page) -> list[str]:
    return [record.id for record in page.records]


def test_reads_are_newest_first_per_tenant_status_and_live(make_store):
    store = make_store()
    for n in range(5):
        store.insert(job(n, tenant="a" if n % 2 == 0 else "b"))
    store.update("job-0002", tenant_id="a", change=finish)
    assert ids(store.newest(tenant_id=None, status=None, limit=3)) == [
        "job-0004",
        "job-0003",
        "job-0002",
    ]
    assert store.newest(tenant_id="a", status=None, limit=10).total == 3
    assert ids(store.newest(tenant_id="a", status="done", limit=10)) == ["job-0002"]
    assert ids(store.newest_live(tenant_id="a", limit=10)) == ["job-0004", "job-0000"]
    page = store.since(tenant_id=None, since=T0 + timedelta(minutes=2), limit=2)
    assert (page.total, ids(page)) == (3, ["job-0004", "job-0003"])


def test_another_tenants_record_is_not_found_and_not_changed(make_store):
    store = make_store()
    store.insert(job(1, tenant="a"))
    assert store.get("job-0001", tenant_id="b") is None
    assert store.get("job-0001", tenant_id="a").tenant_id == "a"
    assert store.update("job-0001", tenant_id="b", change=finish) is None
    assert store.get("job-0001", tenant_id=None).status == "running"


def test_a_refused_change_leaves_the_record_as_it_was(make_store):
    store = make_store()
    store.insert(job(1))

    def refuse(record: Job) -> Job:
        raise InvalidTransition("no")

    with pytest.raises(InvalidTransition):
        store.update("job-0001", tenant_id="a", change=refuse)
    assert store.get("job-0001", tenant_id="a").status == "running"


def test_finished_records_are_evicted_earliest_finished_first_by_count(make_store):
    evicted: list[Job] = []
    store = make_store(max_records=3, evicted=evicted)
    for n in range(3):
        store.insert(job(n))
    store.update("job-0002", tenant_id="a", change=finish)  # finished first
    store.update("job-0000", tenant_id="a", change=finish)
    store.insert(job(3))
    assert [record.id for record in evicted] == ["job-0002"]
    assert store.usage("a") == (3, 300)


def test_only_live_records_left_means_429_and_nothing_changes(make_store):
    store = make_store(max_records=2)
    store.insert(job(0))
    store.insert(job(1))
    with pytest.raises(QuotaExceeded, match="full of live records"):
        store.insert(job(2))
    assert store.usage("a") == (2, 200)
    assert store.get("job-0002", tenant_id=None) is None


def test_bytes_are_capped_and_a_live_record_cannot_grow_past_the_cap(make_store):
    store = make_store(max_bytes=1_000)
    store.insert(job(0, payload="x" * 500))
    with pytest.raises(QuotaExceeded):
        store.insert(job(1, payload="x" * 500))
    with pytest.raises(QuotaExceeded):
        store.update(
            "job-0000", tenant_id="a", change=lambda r: r.model_copy(update={"payload": "y" * 950})
        )
    # Finishing is never refused, and the finished record then makes room.
    store.update("job-0000", tenant_id="a", change=finish)
    store.insert(job(1, payload="x" * 500))
    assert store.get("job-0000", tenant_id=None) is None
    assert store.usage("a") == (1, 600)


def test_one_tenants_volume_never_evicts_another_tenants_records(make_store):
    store = make_store(max_records=2)
    store.insert(job(0, tenant="b", status="done"))
    for n in range(1, 6):
        store.insert(job(n, tenant="a", status="done"))
    assert store.get("job-0000", tenant_id="b") is not None
    assert store.usage("a")[0] == 2


def test_concurrent_updates_apply_once_each_under_the_lock(make_store):
    store = make_store()
    store.insert(job(0, payload=""))
    winners: list[str] = []

    def claim(worker: str) -> None:
        def change(record: Job) -> Job:
            if record.status != "running":
                raise InvalidTransition("taken")
            return finish(record)

        try:
            store.update("job-0000", tenant_id="a", change=change)
            winners.append(worker)
        except InvalidTransition:
            pass

    threads = [threading.Thread(target=claim, args=(str(n),)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_reads_survive_a_redis_that_forgot_its_scripts(redis_server):
    # A Redis restart or failover empties the script cache: pages are read by EVALSHA, so the
    # store loads the script again and answers, in one more round trip.
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    spec = job_spec()
    store = RedisRecordStore(spec, client=client, prefix="test", name="jobs", model=Job)
    first, second = store.insert(job(1)), store.insert(job(2, tenant="b"))
    client.script_flush()
    assert ids(store.newest_live(tenant_id=None, limit=10)) == [second.id, first.id]
    client.script_flush()
    page = store.newest(tenant_id="a", status=None, limit=10)
    assert (page.total, ids(page)) == (1, [first.id])


def test_an_insert_is_one_round_trip_and_a_refused_one_leaves_no_trace(redis_server, monkeypatch):
    # The tenants set, the id's tenant (for an operator's reads) and the record go in one
    # pipeline; when the record is refused, the id's tenant is taken back.
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    spec = job_spec(max_records=2)
    store = RedisRecordStore(spec, client=client, prefix="test", name="jobs", model=Job)
    store.insert(job(0))
    with counted(monkeypatch) as sent:
        store.insert(job(1, tenant="b"))
    assert sent[0] == 1
    assert store.get("job-0001", tenant_id=None).tenant_id == "b"
    store.insert(job(2, tenant="b"))
    with pytest.raises(QuotaExceeded):
        store.insert(job(3, tenant="b"))
    with pytest.raises(ValueError, match="Duplicate"):
        store.insert(job(1, tenant="b"))
    where = {
        key.decode(): value.decode() for key, value in client.hgetall("test:jobs:where").items()
    }
    assert where == {"job-0000": "a", "job-0001": "b", "job-0002": "b"}
    assert store.get("job-0003", tenant_id=None) is None
    assert sorted(client.smembers("test:jobs:tenants")) == [b"a", b"b"]


def test_batched_reads_send_every_waiting_page_in_one_round_trip(make_store, monkeypatch):
    # On Redis, pages asked for inside the block wait and go together; on memory the block
    # changes nothing. Either way each page reads as the same read outside the block would.
    from agent33_core.redis_store import batched_reads

    jobs, other = make_store(), make_store(name="others")
    for n in range(6):
        jobs.insert(job(n, tenant="a" if n % 2 else "b", status="running" if n % 3 else "done"))
    other.insert(job(9, tenant="a"))

    def reads():
        return [
            jobs.newest_live(tenant_id="a", limit=10),
            jobs.newest(tenant_id=None, status="done", limit=1),
            other.newest(tenant_id="a", status=None, limit=10),
        ]

    expected = [(page.total, ids(page)) for page in reads()]
    assert expected == [(2, ["job-0005", "job-0001"]), (2, ["job-0003"]), (1, ["job-0009"])]
    backend = "redis" if isinstance(jobs, RedisRecordStore) else "memory"
    with counted(monkeypatch) as sent:
        with batched_reads():
            pages = reads()
            before_any_read = sent[0]
        assert [(page.total, ids(page)) for page in pages] == expected
        # Nothing went before a page was read; then the operator's read learnt the tenants
        # in one round trip, and every page went together in one more.
        assert (before_any_read, sent[0]) == ((0, 2) if backend == "redis" else (0, 0))

        with batched_reads():
            first, second = reads()[:2]
            assert first.total == 2  # reading one page sends all that wait
            sent_after_first = sent[0]
            assert ids(second) == ["job-0003"]
            assert sent[0] == sent_after_first


def test_a_page_of_a_batch_that_failed_cannot_be_read(make_store):
    from agent33_core.redis_store import batched_reads

    jobs = make_store()
    jobs.insert(job(1, tenant="a"))
    with pytest.raises(ZeroDivisionError), batched_reads():
        page = jobs.newest_live(tenant_id="a", limit=10)
        1 / 0  # noqa: B018
    if isinstance(jobs, RedisRecordStore):  # its read never went: no answer to make up
        with pytest.raises(RuntimeError, match="after its batch was dropped"):
            page.total  # noqa: B018
    else:
        assert ids(page) == ["job-0001"]
