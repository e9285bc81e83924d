"""The composition root: builds a house of APIs from settings, for any set of layers.

The embedded default serves all three layers in one process, each reaching the one below
over an in-process ASGI transport. ``ledgerbridge serve --layer X`` builds a house of one
layer whose clients speak HTTP to the base URLs configured for the layers below.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection, Mapping
from datetime import timedelta

import httpx
from fastapi import FastAPI
from starlette.routing import Mount

from ledgerbridge.apis.experience.app import build_experience_apis
from ledgerbridge.apis.experience.background import Background
from ledgerbridge.apis.experience.deps import ExperienceDeps
from ledgerbridge.apis.process.app import build_process_apis
from ledgerbridge.apis.process.deps import ProcessDeps
from ledgerbridge.apis.process.order_to_cash.views import API as ORDER_TO_CASH
from ledgerbridge.apis.process.workers import WorkerTuning, process_workers
from ledgerbridge.apis.system._erp import ErpPort, ErpSwitch, S4HanaErp, TrytonErp
from ledgerbridge.apis.system._erp.switch import Cutover
from ledgerbridge.apis.system.app import build_system_apis
from ledgerbridge.apis.system.backends import SystemBackends
from ledgerbridge.apis.system.crm_orders.changes import order_changes_bridge
from ledgerbridge.connectors.s4hana import S4HanaClient
from ledgerbridge.connectors.salesforce import SalesforceClient
from ledgerbridge.connectors.tryton import TrytonClient
from ledgerbridge.migration.cutover import ErpCutover
from ledgerbridge.runtime.app_factory import ApiMetadata, Layer, close_docs
from ledgerbridge.runtime.audit import AuditTrail
from ledgerbridge.runtime.discovery import api_view_modules
from ledgerbridge.runtime.errors import LedgerbridgeError
from ledgerbridge.runtime.house import House, layer_http_client
from ledgerbridge.runtime.observability import (
    Insight,
    UsageLedger,
    configure_tracing,
    current_api_var,
    usage_flusher,
)
from ledgerbridge.runtime.resilience import BackendPolicy, policies
from ledgerbridge.runtime.security import EmbeddedSecurity, LayerTokens, audited
from ledgerbridge.runtime.settings import ResilienceSettings, Settings
from ledgerbridge.runtime.store import Store
from ledgerbridge.runtime.versioning import check_lifecycle_policy

ALL_LAYERS = frozenset(Layer)
#: How long after a cut-over links recorded late are re-pointed (old ERP ids are served until
#: the Process layer has rewritten every reference to them).
CUTOVER_SETTLE_SECONDS = 10.0


class LayerUnreachable(LedgerbridgeError):
    """A layer is needed below the ones served here, and no base URL says where it is."""


def _link(
    house: House,
    layers: Collection[Layer],
    below: Layer,
    url: str | None,
    tokens: LayerTokens | None,
) -> httpx.AsyncClient:
    if below not in layers and url is None:
        variable = f"LEDGERBRIDGE_{below.upper()}_URL"
        raise LayerUnreachable(f"the {below} layer is not served here; set {variable}")
    client = layer_http_client(house, None if below in layers else url)
    if tokens is not None:
        client.auth = tokens
    return client


def _catalog() -> list[ApiMetadata]:
    """Every API of the deployment, served here or not: their scopes are what clients ask for."""
    return [
        views.API
        for layer in Layer
        for views in api_view_modules(f"ledgerbridge.apis.{layer.value}")
    ]


def _policy(backend: str, settings: ResilienceSettings) -> BackendPolicy:
    """The resilience policy of ``backend``, registered where its System APIs and the
    breaker states find it."""
    policy = BackendPolicy.from_settings(backend, settings)
    policies.register(policy)
    return policy


def _erp(settings: Settings, name: str) -> ErpPort:
    """The adapter of the ERP ``name``, configured by the settings."""
    if name == "tryton":
        tryton = settings.tryton
        return TrytonErp(
            TrytonClient(
                base_url=tryton.base_url,
                database=tryton.database,
                username=tryton.username,
                password=tryton.password.get_secret_value(),
                timeout=tryton.timeout,
            ),
            payment_term=tryton.payment_term,
            payment_method=tryton.payment_method,
            product_category=tryton.product_category,
        )
    s4 = settings.s4hana
    return S4HanaErp(
        S4HanaClient(
            base_url=s4.base_url,
            username=s4.username,
            password=s4.password.get_secret_value(),
            timeout=s4.timeout,
        ),
        policy=_policy("s4hana", s4.resilience),
    )


def _cutover(settings: Settings, switch: ErpSwitch, store: Store) -> Cutover:
    """The operator's cut-over: copy to the named ERP, switch to it, then close the old one."""

    async def cut_over(to: str) -> Mapping[str, int]:
        new = _erp(settings, to)
        old = switch.current
        cutover = ErpCutover(
            store,
            switch,
            old=old,
            new=new,
            switching=lambda: switch.switching_to(new, name=to),
            to=to,
            settle_seconds=CUTOVER_SETTLE_SECONDS,
        )
        try:
            report = await cutover.run()
        except BaseException:
            await new.aclose()
            raise
        await cutover.settle()
        await old.aclose()
        return report.counts()

    return cut_over


@contextlib.asynccontextmanager
async def open_house(
    settings: Settings,
    *,
    layers: Collection[Layer] = ALL_LAYERS,
    migrate: bool = True,
    tuning: WorkerTuning = WorkerTuning(),  # noqa: B008 - frozen, shared safely
) -> AsyncIterator[House]:
    """Build the APIs of ``layers`` with their dependencies, and close them all afterwards.

    Args:
        settings: Where the store, the backends and the other layers are.
        layers: Which layers this house serves.
        migrate: Upgrade the store's schema first (off when only reading metadata).
        tuning: The background workers' claim lease and shutdown grace.
    """
    observed = settings.observability
    if observed.tracing or observed.otlp_endpoint:
        configure_tracing(
            service_name=observed.service_name,
            otlp_endpoint=observed.otlp_endpoint,
            sample_ratio=observed.trace_sample_ratio,
        )
    house = House(Insight(metrics=observed.metrics))
    to_close: list[httpx.AsyncClient | SalesforceClient | ErpPort | Background] = []
    store: Store | None = None
    backends: SystemBackends | None = None
    security: EmbeddedSecurity | None = None
    tokens: LayerTokens | None = None
    # Background workers stop before the clients they call are closed.
    workers = contextlib.AsyncExitStack()
    try:
        if observed.analytics or Layer.PROCESS in layers or Layer.EXPERIENCE in layers:
            store = Store(settings.database_url)
            if migrate:
                await store.upgrade()
            house.insight.store = store
        if settings.auth_mode == "jwt" or Layer.EXPERIENCE in layers:
            # Each house runs its own token service; the hops of this house exchange there.
            # With authentication off it is there only for the pages' users to sign in.
            security = EmbeddedSecurity.from_settings(
                settings.auth,
                on_issue=audited(AuditTrail(store)) if store else None,
                redis_url=settings.redis_url,
            )
            token_http = layer_http_client(house, None)
            to_close.append(token_http)
            if settings.auth_mode == "jwt":
                tokens = security.layer_tokens(token_http)
        if Layer.SYSTEM in layers:
            sf = settings.salesforce
            _policy("salesforce", sf.resilience)
            erp = ErpSwitch(_erp(settings, settings.erp), name=settings.erp)
            if store is not None:
                erp.cutover = _cutover(settings, erp, store)
                if migrate:
                    # Serve from the ERP the latest cut-over recorded, with its old ids.
                    await erp.attach(store, lambda name: _erp(settings, name))
            backends = SystemBackends(
                salesforce=SalesforceClient(
                    base_url=sf.base_url,
                    client_id=sf.client_id,
                    client_secret=sf.client_secret.get_secret_value(),
                    api_version=sf.api_version,
                    timeout=sf.timeout,
                ),
                erp=erp,
            )
            to_close += [backends.salesforce, backends.erp]
            house.mount(build_system_apis(backends))
        if Layer.PROCESS in layers:
            assert store is not None
            system = _link(house, layers, Layer.SYSTEM, settings.system_url, tokens)
            # A Process API calling another one goes through this house, in-process.
            peers = _link(house, layers, Layer.PROCESS, None, tokens)
            to_close += [system, peers]
            deps = ProcessDeps(store=store, system=system, process=peers, settings=settings.process)
            house.mount(build_process_apis(deps))
        if Layer.EXPERIENCE in layers:
            system = _link(house, layers, Layer.SYSTEM, settings.system_url, tokens)
            process = _link(house, layers, Layer.PROCESS, settings.process_url, tokens)
            to_close += [system, process]
            assert store is not None
            assert security is not None
            experience = ExperienceDeps(
                process=process,
                system=system,
                store=store,
                catalog=lambda: tuple(house.apis),
                sign_in=security.page_sign_in(token_http, api="web"),
            )
            house.mount(build_experience_apis(experience))
            # Watchers and webhook deliveries stop before the clients they call are closed.
            to_close.insert(0, experience.background)
            to_close.append(experience.webhooks)
        if not settings.docs_exposed:
            for route in house.app.router.routes:
                if isinstance(route, Mount) and isinstance(route.app, FastAPI):
                    close_docs(route.app)
        if tokens is not None and security is not None:
            # After the last mount and before anything is served (the workers included).
            security.secure(house, catalog=_catalog())
        elif security is not None:
            security.mount(house)
        # A house opened only to read metadata (migrate off) runs no workers.
        if Layer.PROCESS in layers and migrate and settings.process.workers:
            # The workers call the System layer as order-to-cash; their tasks copy this context.
            acting = current_api_var.set(ORDER_TO_CASH.name) if tokens else None
            try:
                await workers.enter_async_context(
                    process_workers(
                        deps,
                        bus_url=settings.bus_url,
                        bus_namespace=settings.bus_namespace,
                        advance_interval=settings.process.advance_interval,
                        retry_after=timedelta(seconds=settings.process.retry_after_seconds),
                        relay_interval=settings.process.relay_interval,
                        fulfilment_sla=timedelta(hours=settings.process.fulfilment_sla_hours),
                        product_sync_interval=settings.process.product_sync_interval,
                        tuning=tuning,
                    )
                )
                if backends is not None and settings.process.crm_changes:
                    # Entered after the workers, so stopped before them.
                    await workers.enter_async_context(
                        order_changes_bridge(backends.salesforce, deps.store.engine)
                    )
            finally:
                if acting is not None:
                    current_api_var.reset(acting)
        check_lifecycle_policy(
            house.apis, window_months=settings.lifecycle.deprecation_window_months
        )
        if observed.analytics and store is not None:
            house.insight.usage = UsageLedger(lambda: house.insight.clock.now())
            async with usage_flusher(
                house.insight.usage, store, every=observed.analytics_flush_seconds
            ):
                yield house
        else:
            yield house
    finally:
        await workers.aclose()
        for resource in to_close:
            await resource.aclose()
        if store is not None:
            await store.dispose()
