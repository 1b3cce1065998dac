"""The hub's control history store on both backends (contract §5, §6): bounded per process and
per tenant in count and bytes, least recently controlled processes evicted first, the newest
control always kept, tenants apart; on Redis one round trip per call, whatever the history.

Store tests run on a memory store and on the session's private redis-server (flushed per test)
whatever `--state-backend` says; the hub tests at the end race two hubs (as two server
processes would be) on Redis.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
import redis

from agent33_core.errors import DomainError
from agent33_core.redis_store import hash_tag
from agent33_core.registry import services
from operations import history as history_module
from operations.domain import ControlRecord
from operations.history import (
    MAX_HISTORY_PER_PROCESS,
    ControlHistoryStore,
    MemoryControlHistory,
    RedisControlHistory,
    control_bytes,
    make_control_history,
)
from operations.registry import registry
from operations.services import OperationsHubService
from tests.operations.helpers import control, create_budget, create_trace

PREFIX = "test"
START = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
MakeHistory = Callable[..., ControlHistoryStore]


class CountingRedis(redis.Redis):
    """A client that counts the commands it sends (a script call is one EVALSHA)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: Counter[str] = Counter()

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent[str(args[0]).upper()] += 1
        return super().execute_command(*args, **options)


@pytest.fixture
def redis_url(redis_server) -> Iterator[str]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    yield redis_server.url


@pytest.fixture
def redis_clients(redis_url) -> Iterator[Callable[[], CountingRedis]]:
    """`new()` opens a client with its own pool, as another server process would have."""
    opened: list[CountingRedis] = []

    def new() -> CountingRedis:
        client = CountingRedis.from_url(redis_url)
        opened.append(client)
        return client

    yield new
    for client in opened:
        client.close()


@pytest.fixture(params=["memory", "redis"])
def make_history(request) -> MakeHistory:
    """`make_history(max_records=..., max_bytes=...)` on this test's backend; on Redis every
    store shares the (flushed) server, each through its own client."""
    if request.param == "memory":
        return lambda *, max_records=10_000, max_bytes=10**9: MemoryControlHistory(
            max_records=max_records, max_bytes=max_bytes
        )
    new_client = request.getfixturevalue("redis_clients")
    return lambda *, max_records=10_000, max_bytes=10**9: RedisControlHistory(
        client=new_client(), prefix=PREFIX, max_records=max_records, max_bytes=max_bytes
    )


_serial = iter(range(10**9))


def record(action: str = "pause", reason: str = "", **fields: Any) -> ControlRecord:
    """A control, each one a second after the previous one (so every record differs)."""
    fields.setdefault("actor", "alice")
    fields.setdefault("at", START + timedelta(seconds=next(_serial)))
    fields.setdefault("from_status", "active")
    fields.setdefault("to_status", "suspended")
    return ControlRecord(action=action, reason=reason, **fields)


def reasons(history: list[ControlRecord]) -> list[str]:
    return [r.reason for r in history]


def fill(store: ControlHistoryStore, tenant: str, process: str, *names: str) -> None:
    for name in names:
        store.append(tenant, process, record(reason=name))


# --- reads and the per-process cap ---------------------------------------------------------


def test_get_of_a_process_never_controlled_is_empty(make_history):
    store = make_history()
    assert store.get("t1", "trace-unknown") == []
    fill(store, "t1", "trace-a", "x")
    assert store.get("t1", "trace-unknown") == []
    assert store.get("t2", "trace-a") == []  # the process's tenant is part of the address


def test_append_answers_the_process_history_after_it_oldest_first(make_history):
    store = make_history()
    first, second = record("pause", "one"), record("resume", "two", to_status="active")
    assert store.append("t1", "budget-1", first) == [first]
    assert store.append("t1", "budget-1", second) == [first, second]
    assert store.get("t1", "budget-1") == [first, second]


def test_a_process_keeps_its_newest_hundred_controls(make_history):
    store = make_history()
    names = [f"c{i}" for i in range(MAX_HISTORY_PER_PROCESS + 5)]
    fill(store, "t1", "budget-1", *names[:-1])
    answered = store.append("t1", "budget-1", record(reason=names[-1]))
    assert reasons(answered) == names[5:]
    assert reasons(store.get("t1", "budget-1")) == names[5:]


# --- per-tenant caps -----------------------------------------------------------------------


def test_over_the_count_cap_the_least_recently_controlled_process_loses_its_oldest(make_history):
    store = make_history(max_records=5)
    fill(store, "t1", "a", "a1", "a2")
    fill(store, "t1", "b", "b1", "b2")
    fill(store, "t1", "c", "c1")
    fill(store, "t1", "a", "a3")  # a is now the most recently controlled; b the least
    assert reasons(store.get("t1", "b")) == ["b2"]
    assert reasons(store.get("t1", "a")) == ["a1", "a2", "a3"]
    fill(store, "t1", "d", "d1")  # b's last control goes, then b is out of the order
    assert store.get("t1", "b") == []
    fill(store, "t1", "e", "e1")  # then c, the least recently controlled now
    assert store.get("t1", "c") == []
    assert reasons(store.get("t1", "a")) == ["a1", "a2", "a3"]
    fill(store, "t1", "f", "f1")  # then a's oldest
    assert reasons(store.get("t1", "a")) == ["a2", "a3"]
    assert [reasons(store.get("t1", p)) for p in "def"] == [["d1"], ["e1"], ["f1"]]


def test_over_the_byte_cap_oldest_controls_go_until_the_tenant_fits(make_history):
    small = [record(reason=f"s{i}") for i in range(6)]
    big = record(reason="é" * 500)
    budget = sum(map(control_bytes, small))
    store = make_history(max_bytes=budget)
    for i, each in enumerate(small):
        store.append("t1", f"p{i}", each)
    assert [store.get("t1", f"p{i}") for i in range(6)] == [[r] for r in small]
    # The big control needs the room of several small ones: the least recent go first.
    kept = list(small)
    while sum(map(control_bytes, kept)) + control_bytes(big) > budget:
        kept.pop(0)
    assert 1 < len(small) - len(kept) < len(small)
    assert store.append("t1", "p9", big) == [big]
    assert [r for i in range(6) for r in store.get("t1", f"p{i}")] == kept


def test_the_newest_control_is_kept_even_when_it_alone_exceeds_the_byte_cap(make_history):
    store = make_history(max_bytes=100)
    fill(store, "t1", "a", "a1")
    huge = record(reason="r" * 5000)
    assert store.append("t1", "b", huge) == [huge]
    assert store.get("t1", "a") == []
    newer = record(reason="r" * 6000)
    assert store.append("t1", "b", newer) == [newer]  # its own older control goes too


def test_a_count_cap_of_one_keeps_only_the_tenants_newest_control(make_history):
    store = make_history(max_records=1)
    fill(store, "t1", "a", "a1", "a2")
    assert reasons(store.get("t1", "a")) == ["a2"]
    fill(store, "t1", "b", "b1")
    assert store.get("t1", "a") == [] and reasons(store.get("t1", "b")) == ["b1"]


def test_one_tenants_controls_never_evict_another_tenants_history(make_history):
    store = make_history(max_records=3, max_bytes=20_000)
    fill(store, "t2", "theirs", "audit")
    for i in range(50):
        fill(store, "t1", f"mine-{i % 7}", f"m{i}", "é" * 300)
    assert reasons(store.get("t2", "theirs")) == ["audit"]
    assert sum(len(store.get("t1", f"mine-{i}")) for i in range(7)) <= 3


def test_tenants_with_braces_in_their_names_stay_apart(make_history):
    store = make_history(max_records=1)
    for tenant in ("{a}", "%7Ba%7D", "a"):
        fill(store, tenant, "p", tenant)
    assert [reasons(store.get(t, "p")) for t in ("{a}", "%7Ba%7D", "a")] == [
        ["{a}"],
        ["%7Ba%7D"],
        ["a"],
    ]


# --- against a reference model -------------------------------------------------------------


class ReferenceHistory:
    """The promises written the plainest way: a dict in control order, copied per append."""

    def __init__(self, *, max_records: int, max_bytes: int) -> None:
        self.max_records, self.max_bytes = max_records, max_bytes
        self.tenants: dict[str, dict[str, list[ControlRecord]]] = {}

    def append(self, tenant: str, process: str, item: ControlRecord) -> list[ControlRecord]:
        processes = self.tenants.setdefault(tenant, {})
        processes[process] = [*processes.pop(process, []), item][-MAX_HISTORY_PER_PROCESS:]

        def over() -> bool:
            kept = [r for history in processes.values() for r in history]
            size = sum(map(control_bytes, kept))
            return len(kept) > 1 and (len(kept) > self.max_records or size > self.max_bytes)

        while over():
            oldest = next(iter(processes))
            processes[oldest] = processes[oldest][1:]
            if not processes[oldest]:
                del processes[oldest]
        return list(processes[process])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_controls_keep_what_the_reference_keeps(make_history, seed):
    rng = random.Random(seed)
    caps = {"max_records": rng.choice([3, 8, 40]), "max_bytes": rng.choice([3_000, 12_000])}
    store, reference = make_history(**caps), ReferenceHistory(**caps)
    addresses = [(t, f"p{p}") for t in ("t1", "t2") for p in range(6)]
    for _ in range(300):
        tenant, process = rng.choice(addresses)
        item = record(reason=rng.choice(["", "x" * rng.randrange(600), "é" * rng.randrange(400)]))
        assert store.append(tenant, process, item) == reference.append(tenant, process, item)
    for tenant, process in addresses:
        assert store.get(tenant, process) == reference.tenants[tenant].get(process, [])


def test_concurrent_appends_lose_nothing_and_keep_the_caps(make_history):
    store = make_history(max_records=50)
    stores = [store, make_history(max_records=50)]  # on Redis: two clients, as two processes

    def append_many(worker: int) -> None:
        for i in range(40):
            stores[worker % 2].append("t1", f"p{worker}", record(reason=f"{worker}:{i}"))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(append_many, range(4)))
    kept = {w: reasons(store.get("t1", f"p{w}")) for w in range(4)}
    assert sum(map(len, kept.values())) == 50
    for worker, names in kept.items():  # each process keeps its newest, in its own order
        assert names == [f"{worker}:{i}" for i in range(40 - len(names), 40)]


# --- Redis: layout, serialization and round trips ------------------------------------------


def test_redis_keeps_each_control_as_its_size_and_the_control_record_json(redis_clients):
    client = redis_clients()
    store = RedisControlHistory(client=client, prefix=PREFIX, max_records=10, max_bytes=10**6)
    item = record(reason="naïve {json}")
    store.append("t1", "trace-1", item)
    [entry] = client.lrange(f"{{{PREFIX}:t1}}:ops:history:p:trace-1", 0, -1)
    assert entry == f"{control_bytes(item)}\t{item.model_dump_json()}".encode()


def test_every_redis_key_of_a_tenant_shares_its_hash_tag(redis_clients):
    client = redis_clients()
    store = RedisControlHistory(client=client, prefix=PREFIX, max_records=10, max_bytes=10**6)
    for tenant in ("{a}", "b:c"):
        fill(store, tenant, "trace-1", "x")
        fill(store, tenant, "budget-{2}", "y")
    tags = Counter()
    for key in client.scan_iter():
        key = key.decode()
        tags[key[key.index("{") + 1 : key.index("}")]] += 1  # what Redis Cluster hashes
    assert tags == {f"{PREFIX}:{hash_tag('{a}')}": 4, f"{PREFIX}:b:c": 4}


def test_redis_append_and_get_cost_one_round_trip_whatever_the_history(redis_clients):
    client = redis_clients()
    store = RedisControlHistory(client=client, prefix=PREFIX, max_records=500, max_bytes=10**7)
    for i in range(1000):  # 20 processes, the tenant at its cap
        store.append("t1", f"p{i % 20}", record(reason="r" * 200))
    client.sent.clear()
    assert len(store.append("t1", "p3", record())) == 26  # p0, least recent, lost one
    assert client.sent == {"EVALSHA": 1}
    client.sent.clear()
    assert len(store.get("t1", "p4")) == 25
    assert client.sent == {"LRANGE": 1}


def test_the_factory_picks_the_configured_backend(settings, redis_url):
    settings.AGENT33_STATE_BACKEND = "memory"
    assert isinstance(make_control_history(max_records=1, max_bytes=1), MemoryControlHistory)
    settings.AGENT33_STATE_BACKEND = "redis"
    settings.AGENT33_REDIS_URL = redis_url
    assert isinstance(make_control_history(max_records=1, max_bytes=1), RedisControlHistory)


# --- the hub: refusals append nothing; racing hubs on Redis --------------------------------


def test_a_refused_control_appends_nothing(t1):
    trace = create_trace(t1)
    assert control(t1, trace["id"], "cancel").status_code == 200
    assert control(t1, trace["id"], "cancel").status_code == 409
    assert control(t1, trace["id"], "pause").status_code == 409
    history = t1.get(f"/v1/operations/processes/{trace['id']}").json()["control_history"]
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("cancel", "running", "cancelled")
    ]


@pytest.fixture
def two_hubs(settings, redis_url) -> list[OperationsHubService]:
    """Two hubs on one Redis, each with its own locks: what two server processes have."""
    settings.AGENT33_STATE_BACKEND = "redis"
    settings.AGENT33_REDIS_URL = redis_url
    services.reset_all()
    return [
        OperationsHubService(source_registry=registry, max_history_per_tenant=1000)
        for _ in range(2)
    ]


def _try_control(hub: OperationsHubService, process_id: str, action: str, actor: str) -> bool:
    try:
        hub.control(tenant_id="t1", process_id=process_id, action=action, reason="", actor=actor)
    except DomainError:
        return False
    return True


def test_racing_cancels_on_two_hubs_have_one_winner_and_one_history_entry(two_hubs, t1):
    traces = [create_trace(t1, f"race-{i}")["id"] for i in range(10)]
    start = threading.Barrier(2)

    def cancel_all(index: int) -> list[bool]:
        start.wait()
        return [_try_control(two_hubs[index], trace, "cancel", f"hub{index}") for trace in traces]

    with ThreadPoolExecutor(max_workers=2) as pool:
        first, second = pool.map(cancel_all, range(2))
    for trace, won in zip(traces, zip(first, second, strict=True), strict=True):
        assert sorted(won) == [False, True]
        detail = two_hubs[0].detail(tenant_id="t1", process_id=trace)
        [entry] = detail.control_history
        winner = "hub0" if won[0] else "hub1"
        assert (entry.actor, entry.from_status, entry.to_status) == (
            winner,
            "running",
            "cancelled",
        )
        assert two_hubs[1].detail(tenant_id="t1", process_id=trace).control_history == [entry]


def test_racing_controls_on_two_hubs_are_recorded_in_the_order_applied(two_hubs, t1):
    budget = create_budget(t1, state="active")["id"]
    start = threading.Barrier(4)

    def hammer(index: int) -> list[str]:
        start.wait()
        hub, action = two_hubs[index // 2], ("pause", "resume")[index % 2]
        actors = [f"u{index}-{i}" for i in range(15)]
        return [actor for actor in actors if _try_control(hub, budget, action, actor)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        applied = [actor for actors in pool.map(hammer, range(4)) for actor in actors]
    detail = two_hubs[1].detail(tenant_id="t1", process_id=budget)
    history = detail.control_history
    assert sorted(h.actor for h in history) == sorted(applied)  # each applied control, once
    assert {h.actor.split("-")[0] for h in history} == {"u0", "u1", "u2", "u3"}
    # Each from the state the previous one left: the order they were applied in.
    chain = [(h.from_status, h.to_status) for h in history]
    assert chain[0][0] == "active" and chain[-1][1] == detail.status
    assert all(after[0] == before[1] for before, after in pairwise(chain)), chain


# --- Redis: control turns across server processes ------------------------------------------


def _redis_store(client: redis.Redis) -> RedisControlHistory:
    return RedisControlHistory(client=client, prefix=PREFIX, max_records=10, max_bytes=10**6)


def test_a_control_turn_on_redis_excludes_another_servers_turn(redis_clients):
    first, second = _redis_store(redis_clients()), _redis_store(redis_clients())
    order: list[str] = []
    entered = threading.Event()

    def other_server() -> None:
        entered.wait()
        with second.control_turn("t1", "budget-1"):
            order.append("second")

    thread = threading.Thread(target=other_server)
    thread.start()
    with first.control_turn("t1", "budget-1"):
        entered.set()
        with second.control_turn("t1", "budget-2"):  # another process: its own turn
            order.append("other process")
        time.sleep(0.2)
        order.append("first")
    thread.join(timeout=10)
    assert order == ["other process", "first", "second"]


def test_a_turn_left_by_a_dead_server_expires(redis_clients, monkeypatch):
    monkeypatch.setattr(history_module, "CONTROL_TURN_SECONDS", 0.3)
    client = redis_clients()
    store = _redis_store(client)
    client.set(f"{{{PREFIX}:t1}}:ops:history:turn:budget-1", "dead server", px=300)
    started = time.monotonic()
    with store.control_turn("t1", "budget-1"):
        waited = time.monotonic() - started
    assert 0.1 < waited < 2
    assert client.keys("*turn*") == []  # released after the turn


def _commands(client: redis.Redis, call: Callable[[], object]) -> Counter[str]:
    """The Redis commands `call` ran (scripts' own commands included), by name."""
    client.config_resetstat()
    call()
    stats = client.info("commandstats")
    return Counter({name: stat["calls"] for name, stat in stats.items() if "info" not in name})


def test_a_hub_detail_and_control_cost_the_same_whatever_the_tenants_history(
    two_hubs, t1, redis_url
):
    hub, client = two_hubs[0], redis.Redis.from_url(redis_url)
    assert _try_control(hub, create_budget(t1, state="active")["id"], "pause", "warm up")
    costs = []
    for processes_before in (0, 20):
        for _ in range(processes_before):  # 15 controls each: 300 controls in the tenant
            other = create_budget(t1, state="active")["id"]
            for action in ("pause", "resume") * 7 + ("pause",):
                assert _try_control(hub, other, action, "setup")
        budget = create_budget(t1, state="active")["id"]
        detail = _commands(client, lambda b=budget: hub.detail(tenant_id="t1", process_id=b))
        pause = _commands(client, lambda b=budget: _try_control(hub, b, "pause", "u"))
        costs.append((detail, pause))
    client.close()
    assert costs[0] == costs[1]
    assert costs[0][0]["cmdstat_lrange"] == 1
    assert costs[0][1]["cmdstat_evalsha"] >= 2  # the source's write and the history's append
