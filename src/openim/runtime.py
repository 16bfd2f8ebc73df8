"""Wires a process: settings → storage, infra, services → the roles asked for, started and stopped in order.

Everything is built here with plain constructor calls, read top to bottom. Nothing below this module reads
settings or the environment; each part gets the values it needs as arguments.

Shared state: without `redis.url` token states live in the database (`storage.token.TokenRepo`, so a restart
keeps every login) and presence and the bus in this process (`MemoryPresence`, `MemoryBus`), which serves every
role run by one `openim start`. With it, one Redis client
backs `RedisTokenStore`, `RedisPresence` and `RedisBus`, so roles run as separate processes (`openim start api`,
`openim start msggateway`, …) share them; they also need one database (PostgreSQL). A process that runs only
some of the roles without `redis.url` starts, but logs a warning saying what will not work (`split_roles_warning`).

Jobs: the msg service enqueues an offline-push job per committed message (`services/msg/offline_push.py`) on
the job queue — `DbQueue` (the table `queue_job`, so jobs survive a kill -9) without `redis.url`,
`RedisStreamQueue` (Redis Streams, consumer group "msgtransfer") with it — and the role `msgtransfer` consumes them
(`jobs/worker.py`, `jobs/offline_push.py`), handing each decided push to the provider `push.enable` names
(`pusher_of`: log, webhook, fcm, getui, jpush; `infra/pushers/`). The msgtransfer role also runs the scheduled jobs
(`Runtime.scheduler()`: `jobs/crontask.py` under `jobs/scheduler.py`), one process of the deployment at a time;
`run_job` runs one by hand (`openim jobs run`).

Send statuses (check_msg_is_send_success) live in `MemorySendStatus`, or in Redis (`RedisSendStatus`) with it.
After-hook calls (`webhooks/`) go on the same queue (topic `webhook`), so a kill -9 loses none either.

Discovery: the registry `ops/discovery.py` `open_registry` names (etcd with `discovery.enable: etcd`, else Redis
with `redis.url`, else in this process) holds an entry per role of every process; `run` announces this one's
once its ports are bound (`Announcer`, refreshed every ttl/3) and removes them first at a stop. The API's
`/prometheus_discovery/*` reads it. A registry that does not answer is logged and retried, never fatal.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import resource
import signal
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from redis.asyncio import Redis

from openim import __version__, context, heap
from openim.api.app import create_app
from openim.api.http_guard import ConnectionGuard, GuardLimits, guarded_protocol
from openim.api.limits import RestLimits
from openim.gateway.server import GatewayServer
from openim.infra.bus import TOPIC_CONFIG, Bus, ConfigReload, MemoryBus
from openim.infra.clock import Clock, SystemClock
from openim.infra.discovery import Announcer, Registry
from openim.infra.objects import LocalStore, ObjectStore
from openim.infra.presence import MemoryPresence, Presence
from openim.infra.pushers import DeviceStore, LogPusher, Pusher
from openim.infra.pushers.fcm import FcmPusher, load_service_account
from openim.infra.pushers.getui import GetuiPusher
from openim.infra.pushers.jpush import JPushPusher
from openim.infra.pushers.webhook import WebhookPusher
from openim.infra.queue import JobQueue
from openim.infra.ratelimit import MemoryRateLimiter, Rates, RedisRateLimiter
from openim.infra.redis import RedisPresence, RedisTokenStore, connect
from openim.infra.redis.bus import RedisBus
from openim.infra.redis.queue import RedisStreamQueue
from openim.infra.redis.send_status import RedisSendStatus
from openim.infra.send_status import MemorySendStatus, SendStatusStore
from openim.infra.tokens import TokenStore
from openim.jobs.crontask import crontask_jobs
from openim.jobs.object_cleanup import ObjectCleanup
from openim.jobs.offline_push import OfflinePushHandler
from openim.jobs.outbox import Outbox
from openim.jobs.queue import DbQueue
from openim.jobs.scheduler import JobOutcome, Scheduler
from openim.jobs.worker import Worker
from openim.live_config import apply_changes, environment, with_stored
from openim.ops.admin import Readiness, create_admin_app, health_routes
from openim.ops.discovery import local_instances, open_registry
from openim.ops.doctor.push import push_problems
from openim.ops.logging import set_log_level, setup_logging
from openim.ops.metrics import bind as bind_metrics
from openim.ops.metrics import probe_loop_lag
from openim.ops.secret import WeakSecret, exposed_default_warning, production_refusal
from openim.services import Services
from openim.services.auth import AuthService
from openim.services.config_manager import ConfigManagerService, ReloadReport
from openim.services.conversation import ConversationService
from openim.services.facts_sync import FactSync
from openim.services.friend import FriendService
from openim.services.group import GroupService
from openim.services.msg import MsgLimits, MsgService
from openim.services.msg.offline_push import TOPIC_OFFLINE_PUSH
from openim.services.notification import NotificationSender
from openim.services.object import ObjectLimits, ObjectService
from openim.services.prometheus_discovery import PrometheusDiscoveryService
from openim.services.statistics import StatisticsService
from openim.services.third import ThirdService
from openim.services.user import UserService
from openim.settings import ConfigError, Settings, leaf_values, load_settings, mask_url
from openim.storage import Storage, open_storage
from openim.storage.commit import Appended, MsgWriter
from openim.storage.token import TokenRepo
from openim.webhooks import TOPIC_WEBHOOK, Webhooks

__all__ = ["ROLES", "PortInUse", "Runtime", "run", "run_job", "split_roles_warning"]

ROLES = ("api", "msggateway", "msgtransfer", "admin")
log = logging.getLogger("openim.runtime")


class PortInUse(Exception):
    """A listening port is taken; the message names it and what to do."""


class TaskEnded(Exception):
    """A role's task ended by itself (an error it did not survive): the process stopped; the log says why."""


class PushMisconfigured(Exception):
    """The offline push provider `push.enable` names lacks what it needs; the message names the keys."""


@dataclass
class Runtime:
    """The built process: shared state every role uses."""

    settings: Settings
    clock: Clock
    storage: Storage
    tokens: TokenStore
    services: Services
    bus: Bus
    presence: Presence
    queue: JobQueue
    registry: Registry
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    redis: Redis | None = None  # the shared client when redis.url is set (readiness pings it)
    config_path: Path | None = None  # what a reload reads again (None: built-in defaults and OPENIM_* variables)
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Called after a reload changed keys, with the running settings: the roles' parts that copied a value.
    on_reload: list[Callable[[Settings], None]] = field(default_factory=list)
    _reloading: asyncio.Lock = field(default_factory=asyncio.Lock)
    webhooks: Webhooks = field(default_factory=Webhooks.off)
    fact_sync: FactSync | None = None  # with redis.url: the fact cache's invalidations between processes
    outbox: Outbox | None = None  # with redis.url: offline-push jobs written with the messages, relayed to Redis

    @classmethod
    async def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        config_path: Path | None = None,
        roles: tuple[str, ...] = ROLES,
    ) -> Runtime:
        """Open storage and infra and build the services; the config centre's stored changes (when enabled) are
        applied on top of `settings`, which is the file as loaded from `config_path`. `roles` decide only whether
        the fact cache may serve without a bus between processes (storage/facts.py)."""
        clock = clock or SystemClock()
        storage = await open_storage(settings.database.url, pool_size=settings.database.poolSize)
        try:
            enabled, stored = await storage.config_override.state()
        except BaseException:
            await storage.close()
            raise
        if enabled and stored:
            settings = with_stored(settings, stored)
            log.info("config centre: %d stored change(s) applied: %s", len(stored), ", ".join(sorted(stored)))
        admins = settings.imAdminUser
        nicknames = [*admins.nicknames, *([""] * len(admins.userIDs))]
        await storage.user.ensure_admins(
            [(uid, nicknames[i] or uid) for i, uid in enumerate(admins.userIDs)], now=clock.now_ms()
        )
        closers: list[Callable[[], Awaitable[None]]] = [storage.close]  # called in reverse order at close
        instance_id = uuid.uuid4().hex
        runtime: Runtime
        tokens: TokenStore
        bus: Bus
        presence: Presence
        queue: JobQueue
        send_status: SendStatusStore
        client: Redis | None = None
        fact_sync: FactSync | None = None
        if settings.redis.url:
            try:
                client = await connect(settings.redis.url)
            except BaseException:
                await storage.close()
                raise
            tokens, presence, redis_bus = RedisTokenStore(client), RedisPresence(client), RedisBus(client)
            bus, queue = redis_bus, RedisStreamQueue(client, claim_idle_s=settings.redis.jobClaimIdle)
            send_status = RedisSendStatus(client)
            closers += [client.aclose, redis_bus.close]
            # Other processes change facts this one caches: their invalidations come over the bus.
            fact_sync = FactSync(storage.facts, redis_bus)
            fact_sync.start()
            closers.append(fact_sync.close)
        else:
            # Token states in the database, so a restart (even kill -9) logs nobody out; presence and bus in memory.
            tokens, presence, memory_bus = TokenRepo(storage.db, clock.now_ms), MemoryPresence(), MemoryBus()
            # One consumer (this process's msgtransfer): claiming 16 jobs per transaction costs no fairness.
            bus, queue = memory_bus, DbQueue(storage.queue, clock.now_ms, claim_batch=16)
            send_status = MemorySendStatus()
            closers.append(memory_bus.close)
            # Without a bus between processes, only a process running every role may assume that it alone
            # writes the database; one of several split processes reads every fact through (storage/facts.py).
            storage.facts.enabled = {"api", "msggateway"} <= set(roles)
        registry = open_registry(settings, redis=client)
        closers.append(registry.close)
        auth = AuthService(
            tokens,
            storage,
            clock,
            secret=settings.secret.get_secret_value(),
            expire_s=settings.tokenPolicy.expire,
            admin_user_ids=list(admins.userIDs),
            multi_login_policy=settings.multiLogin.policy,
            max_num_one_end=settings.multiLogin.maxNumOneEnd,
            bus=bus,
        )
        webhooks = Webhooks.from_config(settings.webhooks.model_dump(), queue=queue)
        closers.append(webhooks.close)
        msg: MsgService
        # The offline-push jobs are rows written in each message batch's transaction (DbQueue.with_messages): no
        # transaction of their own, and none lost between commit and enqueue. With Redis they are outbox rows that
        # this process relays to the stream (jobs/outbox.py).
        outbox: Outbox | None = None

        def payloads(batch: list[Appended]) -> list[bytes]:
            return msg.offline_push_payloads(batch)

        if isinstance(queue, DbQueue):
            hook = queue.with_messages(TOPIC_OFFLINE_PUSH, payloads)
        else:
            outbox = Outbox(
                DbQueue(
                    storage.queue,
                    clock.now_ms,
                    claim_idle_s=settings.redis.jobClaimIdle,
                    claim_batch=16,
                    keep_claims=True,
                ),
                queue,
                TOPIC_OFFLINE_PUSH,
            )
            hook = outbox.with_messages(payloads)
        writer = MsgWriter(storage.msg, on_commit=lambda batch: msg.on_commit(batch), hook=hook)
        msg = MsgService(
            storage,
            writer,
            bus,
            clock,
            admin_user_ids=list(admins.userIDs),
            friend_verify=settings.msg.friendVerify,
            send_status=send_status,
            queue=queue,
            limits=MsgLimits(
                max_msg_len=settings.msg.maxMsgLen,
                pull_max_bytes=settings.msg.pullMaxBytes,
                **settings.msg.maxContentLen.model_dump(),
            ),
            hooks=webhooks,
        )
        msg.jobs_in_commit = True
        notifications = NotificationSender(msg, clock)
        friend = FriendService(storage, notifications, clock, hooks=webhooks)
        group = GroupService(
            storage,
            notifications,
            clock,
            enable_history_for_new_members=settings.group.enableHistoryForNewMembers,
            hooks=webhooks,
        )
        user = UserService(
            storage,
            clock,
            presence,
            notifications,
            profile_listeners=[friend.friend_info_changed, group.member_profile_changed],
            bus=bus,
            tokens=tokens,
            hooks=webhooks,
        )
        services = Services(
            auth=auth,
            user=user,
            friend=friend,
            group=group,
            msg=msg,
            conversation=ConversationService(storage, notifications, clock),
            object=ObjectService(storage, await object_store(settings, clock), clock, limits=object_limits(settings)),
            third=ThirdService(storage, clock, grafana_url=settings.prometheus.grafanaURL),
            statistics=StatisticsService(storage),
            prometheus_discovery=PrometheusDiscoveryService(registry, clock),
            config_manager=ConfigManagerService(
                storage,
                bus,
                clock,
                current=lambda: runtime.settings,
                reload=lambda reason: runtime.reload(reason),
                origin=instance_id,
                environment=environment(),
                version=__version__,
            ),
        )
        closers.append(msg.drain_jobs)  # after the writer: the offline-push jobs of its last commits are queued
        closers.append(writer.close)  # first at close: what it accepted is committed, then pushed by the bus
        runtime = cls(
            settings,
            clock,
            storage,
            tokens,
            services,
            bus,
            presence,
            queue,
            registry,
            closers,
            client,
            config_path=config_path,
            instance_id=instance_id,
            webhooks=webhooks,
            fact_sync=fact_sync,
            outbox=outbox,
        )
        return runtime

    # ---- configuration at run time (/config/*, /restart: services/config_manager.py, live_config.py) ----------

    async def reload(self, reason: str) -> ReloadReport:
        """Re-read the file (and `OPENIM_*`) and the config centre's stored changes; apply what may change at run
        time to this process, report the rest. ConfigError when the file does not load (nothing changes)."""
        async with self._reloading:
            fresh = load_settings(self.config_path)
            enabled, stored = await self.storage.config_override.state()
            wanted = with_stored(fresh, stored) if enabled else fresh
            done = apply_changes(self.settings, wanted)
            if done.applied:
                self._push_settings()
            values = leaf_values(self.settings, as_written=True)
            applied = ", ".join(f"{k}={values[k]!r}" for k in done.applied) or "nothing changed"
            log.info("config reload (%s): %s", reason, applied)
            if done.restart_required:
                log.warning(
                    "config reload (%s): %s changed but apply only when this process restarts",
                    reason,
                    ", ".join(done.restart_required),
                )
            return ReloadReport(done.applied, done.restart_required)

    async def on_config_event(self, event: object) -> None:
        """Bus topic "config": another process changed the configuration; reload here too."""
        if not isinstance(event, ConfigReload) or event.origin == self.instance_id:
            return
        try:
            await self.reload(event.reason)
        except ConfigError as exc:
            log.error("config reload (%s) failed, nothing changed: %s", event.reason, exc)

    def _push_settings(self) -> None:
        """Hand the reloadable values to the services that keep their own copy, then to the roles' hooks."""
        s = self.settings
        services = self.services
        services.auth.reconfigure(
            expire_s=s.tokenPolicy.expire,
            multi_login_policy=s.multiLogin.policy,
            max_num_one_end=s.multiLogin.maxNumOneEnd,
        )
        services.msg.friend_verify = s.msg.friendVerify
        services.group.enable_history_for_new_members = s.group.enableHistoryForNewMembers
        services.third.grafana_url = s.prometheus.grafanaURL
        services.object.limits = object_limits(s)
        self.webhooks.reconfigure(s.webhooks.model_dump())
        for hook in self.on_reload:
            hook(s)

    def scheduler(self, **options: Any) -> Scheduler:
        """The scheduled jobs (OpenIM's crontask) over this runtime, reading `settings.cronTask` at every run."""
        jobs = crontask_jobs(
            conversation=self.services.conversation,
            msg=self.services.msg,
            versions=self.storage.version,
            config=lambda: self.settings.cronTask,
        )
        return Scheduler(jobs, self.storage.cron_task, self.clock, **options)

    async def close(self) -> None:
        for closer in reversed(self._closers):
            await closer()


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: several servers share one process and one stop signal."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int, what: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUse(
            f"cannot listen on {host}:{port} for {what}: {exc.strerror}. "
            f"Another process holds it (see `openim doctor`), or change the port in config/config.yaml."
        ) from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _rates(settings: Settings, runtime: Runtime) -> Rates | None:
    """The rate limits when `ratelimiter.enable`: shared through Redis when configured, else this process's."""
    if not settings.ratelimiter.enable:
        return None
    limiter = RedisRateLimiter(runtime.redis) if runtime.redis is not None else MemoryRateLimiter()
    return Rates.of(settings.ratelimiter, limiter)


def _raise_fd_limit(settings: Settings) -> None:
    """Lift the soft open-files limit to the hard one (often 1,024 → far more), and say when the REST cap leaves
    the gateway too few: a flood of REST sockets must stop at api.maxConnections, not at the process's last fd."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    if settings.api.maxConnections > soft // 2:
        log.warning(
            "api.maxConnections (%d) is more than half the open-files limit (%d): a REST flood could leave the "
            "gateway and the database without file descriptors; lower it or raise `ulimit -n`",
            settings.api.maxConnections,
            soft,
        )


def _uvicorn(
    app: object, sock: socket.socket, guard: ConnectionGuard | None = None, keep_alive: float = 5
) -> tuple[_Server, Awaitable[None]]:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=keep_alive,  # type: ignore[arg-type]  # uvicorn reads it as seconds, int or float
        ws="none",  # the gateway has its own listener; an upgrade here is refused, not served
        http=guarded_protocol(guard) if guard is not None else "httptools",
    )
    server = _Server(config)
    return server, server.serve(sockets=[sock])


async def run(
    settings: Settings,
    roles: tuple[str, ...] = ROLES,
    *,
    ready: asyncio.Event | None = None,
    config_path: Path | None = None,
) -> None:
    """Run the given roles until SIGINT/SIGTERM (or cancellation), then stop gracefully and close storage.

    Stop, in order: /readyz answers 503 "stopping"; the REST and gateway listeners close; REST requests in flight
    finish (uvicorn, up to 10 s) and gateway connections drain (gateway/server.py, up to 10 s); the admin role
    stops; the message writer commits every message it accepted; the bus publishes what is queued (up to 5 s with
    Redis); Redis and storage close. Returning normally, `openim start` exits 0; after a role's task ended by itself
    (TaskEnded) it exits 1, so that a supervisor restarts it. Further signals during the stop are ignored (the waits
    above are bounded).

    With `env: production` and the default or a short secret it raises WeakSecret before binding anything.
    """
    setup_logging(settings.log, roles=roles)
    refusal = production_refusal(settings)
    if refusal:  # before any port is bound or the database opened
        log.error("%s", refusal)
        raise WeakSecret(refusal)
    problems = push_problems(settings) if "msgtransfer" in roles else []
    if problems:  # before any port is bound: a msgtransfer that cannot push would drop every push into dead letters
        refusal = f"push.enable is {settings.push.enable}, but " + "; ".join(problems) + " (see `openim doctor`)"
        log.error("%s", refusal)
        raise PushMisconfigured(refusal)
    for warning in (split_roles_warning(settings, roles), exposed_default_warning(settings, roles)):
        if warning:
            log.warning("%s", warning)
            print(f"openim: warning: {warning}", file=sys.stderr, flush=True)
    _raise_fd_limit(settings)
    sockets: list[tuple[str, socket.socket]] = []
    try:
        if "api" in roles:
            sockets += [("api", _bind(settings.api.listenIP, p, "the REST API")) for p in settings.api.ports]
        if "msggateway" in roles:
            gw = settings.msggateway
            sockets += [("msggateway", _bind(gw.listenIP, p, "the message gateway")) for p in gw.ports]
        if "admin" in roles:
            sockets.append(("admin", _bind(settings.admin.listenIP, settings.admin.port, "the admin endpoints")))
    except PortInUse:
        for _, sock in sockets:
            sock.close()
        raise

    runtime = await Runtime.build(settings, config_path=config_path, roles=roles)
    settings = runtime.settings  # with the config centre's stored changes; a reload changes it in place
    set_log_level(settings.log.remainLogLevel)
    runtime.on_reload.append(lambda s: set_log_level(s.log.remainLogLevel))
    config_events = runtime.bus.subscribe(TOPIC_CONFIG, runtime.on_config_event)
    if enabled := runtime.webhooks.enabled():
        log.info("webhooks enabled: %s, posted to %s", ", ".join(enabled), mask_url(settings.webhooks.url))
    readiness = Readiness.of_storage(runtime.storage)
    if runtime.redis is not None:
        # Shared state and the job queue live there: a process that cannot reach it cannot serve.
        readiness.checks["redis"] = runtime.redis.ping
        queue = runtime.queue
        readiness.checks["queue"] = lambda: queue.stats(TOPIC_OFFLINE_PUSH, "msgtransfer")
    bind_metrics(runtime.storage.db, runtime.services.msg.writer)
    front: list[_Running] = []  # api and msggateway: stopped first
    back: list[_Running] = []  # msgtransfer and admin: stopped last, so /readyz reports "stopping" during the drain
    rates = _rates(settings, runtime)
    rest_rate = (rates.limiter, rates.ip_requests) if rates is not None else None
    api_app = create_app(runtime.services, RestLimits.of(settings.api), rest_rate) if "api" in roles else None
    api_guard = ConnectionGuard(
        GuardLimits(
            settings.api.maxConnections,
            settings.api.maxConnectionsPerIP,
            settings.api.headerTimeout,
            settings.api.requestTimeout,
        )
    )  # one for every API port of the process: the cap is the process's
    if api_app is not None:
        for route in health_routes(readiness):
            if getattr(route, "path", "") == "/readyz":
                api_app.router.routes.append(route)
    for role, sock in sockets:
        if role == "api":
            server, serve = _uvicorn(api_app, sock, api_guard, settings.api.keepAliveTimeout)
            front.append(_Running(_in_role(role, serve), _exit_setter(server)))
        elif role == "admin":
            admin_app = create_admin_app(readiness, authenticate=runtime.services.auth.authenticate)
            server, serve = _uvicorn(admin_app, sock)
            back.append(_Running(_in_role(role, serve), _exit_setter(server)))
            back.append(_Running(_in_role(role, probe_loop_lag()), None))
        else:
            gateway = GatewayServer(
                settings.msggateway,
                auth=runtime.services.auth,
                msg=runtime.services.msg,
                third=runtime.services.third,
                bus=runtime.bus,
                presence=runtime.presence,
                clock=runtime.clock,
                multi_login_policy=settings.multiLogin.policy,
                rates=rates,
                hooks=runtime.webhooks,
            )
            runtime.on_reload.append(_policy_setter(gateway))
            front.append(_Running(_in_role(role, gateway.serve(sock)), gateway.close))
        log.info("%s listening on %s:%s", role, *sock.getsockname()[:2])

    closing: list[Callable[[], Awaitable[None]]] = []  # after the roles stopped, before the runtime closes
    if "msgtransfer" in roles:
        pusher = pusher_of(settings, runtime.services.third)
        handler = OfflinePushHandler(runtime.presence, runtime.storage, pusher, runtime.webhooks)
        # The database queue gathers acknowledgements into one delete: a job's slot is not held while it waits.
        worker = Worker(
            runtime.queue, TOPIC_OFFLINE_PUSH, handler, free_slot_before_ack=isinstance(runtime.queue, DbQueue)
        )
        back.append(_Running(_in_role("msgtransfer", worker.run()), worker.stop))
        closing.append(pusher.close)
        cleanup = ObjectCleanup(runtime.services.object, runtime.clock)
        back.append(_Running(_in_role("msgtransfer", cleanup.run()), cleanup.stop))
        scheduler = runtime.scheduler()
        back.append(_Running(_in_role("msgtransfer", scheduler.run()), scheduler.stop))
        log.info("msgtransfer consuming %s as %s of group %s", worker.topic, worker.consumer, worker.group)
        retry = settings.webhooks.retry
        hook_worker = Worker(
            runtime.queue,
            TOPIC_WEBHOOK,
            runtime.webhooks.delivery(),
            max_attempts=retry.attempts,
            backoff_s=retry.firstDelay,
            max_backoff_s=retry.maxDelay,
        )
        back.append(_Running(_in_role("msgtransfer", hook_worker.run()), hook_worker.stop))

    if runtime.outbox is not None:  # every process relays: its own rows at once, those of dead processes later
        relay = runtime.outbox.relay()
        back.append(_Running(_in_role(roles[0], relay.run()), relay.stop))

    # Announced once every listener is bound; stopped with the front roles, so the entries go first at a stop.
    bound = [(role, int(sock.getsockname()[1])) for role, sock in sockets]
    instances = local_instances(settings, roles, bound, version=__version__, start_time_ms=runtime.clock.now_ms())
    announcer = Announcer(runtime.registry, instances)
    front.append(_Running(_in_role(roles[0], announcer.run()), announcer.stop))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, _on_signal, sig, stop)
    # Last before serving: what start-up built lives until exit, so full collections need not walk it (heap.py).
    log.debug("start-up objects frozen out of the garbage collector: %d", heap.settle())
    if ready is not None:
        ready.set()
    ended = ""
    try:
        waiter = asyncio.ensure_future(stop.wait())
        watched: list[asyncio.Future[Any]] = [waiter, *(r.task for r in front + back)]
        done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        ended = _report_ended(done - {waiter})
    finally:
        log.info("stopping: draining connections and requests in flight")
        readiness.stopping = True
        for group in (front, back):
            for running in group:
                running.stop()
            await asyncio.gather(*(r.task for r in group), return_exceptions=True)
        await config_events.close()
        for close in closing:
            await close()
        await runtime.close()  # the message writer first: every message it accepted is committed
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        log.info("stopped")
    if ended:
        raise TaskEnded(f"stopped because a task ended by itself: {ended}; the log says why")


async def run_job(settings: Settings, name: str) -> JobOutcome:
    """`openim jobs run NAME`: build the runtime (no role, no port), run one scheduled job once, close."""
    runtime = await Runtime.build(settings)
    try:
        return await runtime.scheduler().run_job(name)
    finally:
        await runtime.close()


async def object_store(settings: Settings, clock: Clock) -> ObjectStore:
    """The object engine `object.enable` names: local files, or an S3-compatible bucket (created when missing)."""
    obj = settings.object
    if obj.enable == "local":
        return LocalStore(Path(obj.local.path), secret=settings.secret.get_secret_value(), clock=clock)
    from openim.infra.objects.s3 import S3Store  # boto3 loads only when an S3 engine is configured

    if obj.enable == "minio":
        m = settings.minio
        internal = m.internalAddress if "://" in m.internalAddress else f"http://{m.internalAddress}"
        return await S3Store.open(
            "minio",
            bucket=m.bucket,
            endpoint=internal,
            sign_endpoint=m.externalAddress or internal,
            access_key=m.accessKeyID,
            secret_key=m.secretAccessKey.get_secret_value(),
            session_token=m.sessionToken.get_secret_value(),
            region="us-east-1",
        )
    aws = obj.aws
    return await S3Store.open(
        "aws",
        bucket=aws.bucket,
        endpoint=None,
        sign_endpoint=None,
        access_key=aws.accessKeyID,
        secret_key=aws.secretAccessKey.get_secret_value(),
        session_token=aws.sessionToken.get_secret_value(),
        region=aws.region,
    )


def object_limits(settings: Settings) -> ObjectLimits:
    obj = settings.object
    return ObjectLimits(
        min_part_size=obj.minPartSize,
        max_part_size=obj.maxPartSize,
        max_num_size=obj.maxNumSize,
        max_size=obj.maxSize,
        url_expire_s=obj.urlExpire,
        upload_expire_s=obj.uploadExpire,
    )


def pusher_of(settings: Settings, devices: DeviceStore) -> Pusher:
    """The offline push provider `push.enable` names, built from its keys.

    `run` has refused to start msgtransfer when `push_problems` found any (a server that silently drops every push
    is what OpenIM's users report most), so the keys are there; a key file that changed since raises ValueError.
    """
    push = settings.push
    if push.enable == "webhook":
        if not push.webhook.url:
            raise ValueError("push.enable is webhook but push.webhook.url is empty")
        return WebhookPusher(push.webhook.url, devices, timeout_s=push.webhook.timeout)
    if push.enable == "fcm":
        account = None
        if push.fcm.filePath:
            try:
                account = load_service_account(push.fcm.filePath)
            except (OSError, ValueError) as exc:
                raise ValueError(f"push.fcm.filePath {push.fcm.filePath}: {exc}") from exc
        return FcmPusher(devices, account=account, auth_url=push.fcm.authURL, endpoint=push.fcm.endpoint)
    if push.enable == "jpush":
        jp = push.jpush
        return JPushPusher(
            jp.appKey,
            jp.masterSecret.get_secret_value(),
            push_url=jp.pushURL,
            intent=jp.pushIntent,
            production=push.iosPush.production,
        )
    if push.enable == "getui":
        gt = push.getui
        return GetuiPusher(
            gt.appKey,
            gt.masterSecret.get_secret_value(),
            push_url=gt.pushUrl,
            channel_id=gt.channelID,
            channel_name=gt.channelName,
            intent=gt.intent,
        )
    return LogPusher()


def split_roles_warning(settings: Settings, roles: tuple[str, ...]) -> str | None:
    """What will not work when this process runs only some roles: None when it runs api and msggateway together.

    Roles split over processes share token states, presence and pushes through Redis (`redis.url`) and messages
    through one database. Without Redis the process still starts (an api-only process serves REST fine), and token
    states are shared through the database, but nobody pushes what another process committed and a kick decided in
    another process does not close this process's connections. The job queue is then the database's (`queue_job`):
    api and msggateway without msgtransfer leave their offline-push jobs there until a msgtransfer role on the same
    database takes them, and a msgtransfer role alone sees no live connection (presence is per process), so it
    pushes recipients that are online in another process.
    """
    running = ", ".join(roles)
    if {"api", "msggateway"} <= set(roles):
        if "msgtransfer" in roles or settings.redis.url:
            return None
        return (
            f"this process runs {running} without msgtransfer and redis.url is not set: the offline-push jobs of its "
            "messages wait in the database (table queue_job) until a msgtransfer role on the same database takes "
            "them. Add msgtransfer to the roles (or run every role in one `openim start`), or set redis.url and run "
            "`openim start msgtransfer` beside it."
        )
    if not settings.redis.url:
        if set(roles) <= {"msgtransfer", "admin"} and "msgtransfer" in roles:
            return (
                f"this process runs only {running} and redis.url is not set: it takes the offline-push jobs from the "
                "database, but presence is per process, so it sees no live connection of the api and msggateway "
                "processes and pushes recipients that are online there. Set redis.url (presence and the queue are then "
                "shared) and a shared PostgreSQL database.url, or run every role in one `openim start`."
            )
        return (
            f"this process runs only {running} and redis.url is not set: presence, pushes and kicks stay in this "
            "process (token states are in the database), so messages committed by another process are not pushed to "
            "this process's connections (nor the other way round) and a logout or multi-login kick decided in another "
            "process does not close the connections held here. Set redis.url and a shared PostgreSQL database.url in "
            "every process, or run every role in one `openim start`."
        )
    if settings.database.url.startswith("sqlite"):
        return (
            f"this process runs only {running} with redis.url set, but database.url is a SQLite file: processes on "
            "other hosts cannot open it, and writers on this host wait for each other's locks. Use PostgreSQL."
        )
    return None


@dataclass
class _Running:
    """A role's task and how to ask it to stop (None: cancel it)."""

    task: asyncio.Future[None]
    begin_stop: Callable[[], None] | None

    def stop(self) -> None:
        if self.begin_stop is None:
            self.task.cancel()
        else:
            self.begin_stop()


def _report_ended(tasks: set[asyncio.Future[Any]]) -> str:
    """Log which task stopped the process (a role's task ends only at a stop, so one that ends by itself is a
    bug) and name it; "" when none did (a signal)."""
    names: set[str] = set()
    for task in tasks:
        exc = None if task.cancelled() else task.exception()
        if exc is None:
            log.error("a task of the process ended by itself; stopping: %r", task)
            names.add("a task")
        else:
            log.error("a task of the process failed; stopping", exc_info=exc)
            names.add(repr(exc))
    return ", ".join(sorted(names))


def _in_role(role: str, work: Awaitable[None]) -> asyncio.Future[None]:
    """Start `work` as a task whose context names `role`: it and every task it spawns log to that role's file."""
    ctx = contextvars.copy_context()
    ctx.run(context.role.set, role)
    return ctx.run(asyncio.ensure_future, work)


def _policy_setter(gateway: GatewayServer) -> Callable[[Settings], None]:
    """A reload hook: the gateway's multi-login policy for connections from now on."""

    def apply(settings: Settings) -> None:
        gateway.hub.set_policy(settings.multiLogin.policy)

    return apply


def _exit_setter(server: _Server) -> Callable[[], None]:
    def begin_stop() -> None:
        server.should_exit = True

    return begin_stop


def _on_signal(sig: signal.Signals, stop: asyncio.Event) -> None:
    if stop.is_set():
        log.warning("%s during the stop: ignored, the drain ends by itself within seconds", sig.name)
        return
    log.info("%s received", sig.name)
    stop.set()
