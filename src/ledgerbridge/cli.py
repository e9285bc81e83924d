"""The command line: demo, serve, worker, sandbox, generate, catalog, db, dlq."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import json
import ssl
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from ledgerbridge.sandboxes.generator.plan import Scenario

if TYPE_CHECKING:
    from ledgerbridge.apis.process.order_to_cash.client import OrderToCashKpis
    from ledgerbridge.demo.run import DemoOptions, DemoResult
    from ledgerbridge.runtime.catalog import CatalogEntry
    from ledgerbridge.runtime.dead_letters import DeadLetterFilter
    from ledgerbridge.runtime.observability import CallerSummary, UsageDay
    from ledgerbridge.runtime.settings import Settings
    from ledgerbridge.runtime.store import Store

# Each command imports the product it runs inside its body: importing all of it takes longer
# than the two seconds in which `ledgerbridge sandbox` must answer its first request.

app = typer.Typer(
    help="ledgerbridge: API-led integration between a CRM and an ERP.", no_args_is_help=True
)
db = typer.Typer(help="The relational store.", no_args_is_help=True)
app.add_typer(db, name="db")
contracts = typer.Typer(
    help="OpenAPI contracts: snapshots, the breaking-change gate, the linter.",
    no_args_is_help=True,
)
app.add_typer(contracts, name="contracts")
audit = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
app.add_typer(audit, name="audit")
token = typer.Typer(
    help="The embedded token service: keys and client secrets.", no_args_is_help=True
)
app.add_typer(token, name="token")
dlq = typer.Typer(
    help="Dead letters: list, show, replay (one or many), discard, resolution times.",
    no_args_is_help=True,
)
app.add_typer(dlq, name="dlq")
console = Console()


class Erp(enum.StrEnum):
    """The ERPs the demo can run against."""

    S4HANA = "s4hana"
    TRYTON = "tryton"


class Sandbox(enum.StrEnum):
    """The backends the project ships stand-ins for."""

    CRM = "crm"
    ERP = "erp"


def _run(coro: object) -> None:
    try:
        asyncio.run(coro)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        console.print("stopped")


@app.command()
def demo(
    orders: Annotated[int, typer.Option(min=1, help="How many orders to push.")] = 50,
    customers: Annotated[int, typer.Option(min=1, help="How many CRM accounts to seed.")] = 10,
    concurrency: Annotated[int, typer.Option(min=1, help="Orders in flight at once.")] = 4,
    once: Annotated[bool, typer.Option("--once", help="Exit after the summary.")] = False,
    port: Annotated[int, typer.Option(help="Port of the APIs.")] = 8000,
    crm_port: Annotated[int, typer.Option(help="Port of the CRM sandbox.")] = 8101,
    erp_port: Annotated[int, typer.Option(help="Port of the ERP sandbox.")] = 8102,
    seed: Annotated[int, typer.Option(help="Seed of the sample data.")] = 7,
    erp: Annotated[
        Erp, typer.Option(help="The ERP: the S/4HANA sandbox, or a real Tryton (trytond).")
    ] = Erp.S4HANA,
) -> None:
    """Start the backends and every API in one process and push orders through order-to-cash.

    With --once, exits 0 only if every order succeeded. With --erp tryton, trytond serves a
    copy of the ready template database (built on first use, about 20 s).
    """
    from ledgerbridge.demo.run import DemoOptions
    from ledgerbridge.runtime.logging import configure_logging
    from ledgerbridge.runtime.settings import Settings
    from ledgerbridge.tryton_setup import tryton_installed

    settings = Settings()
    configure_logging(level="WARNING", json=settings.log_json)
    if erp is Erp.TRYTON and not tryton_installed():
        console.print("Tryton is not installed: pip install -e '.[tryton]'")
        raise typer.Exit(code=2)
    options = DemoOptions(
        orders=orders,
        customers=customers,
        concurrency=concurrency,
        seed=seed,
        port=port,
        crm_port=crm_port,
        erp_port=erp_port,
        erp="tryton" if erp is Erp.TRYTON else "s4hana",
    )
    result = asyncio.run(_demo(options, once=once))
    if result is not None and result.failures:
        raise typer.Exit(code=1)


async def _demo(options: DemoOptions, *, once: bool) -> DemoResult | None:
    from ledgerbridge.demo.run import run_demo

    try:
        return await run_demo(options, once=once, console=console)
    except asyncio.CancelledError:
        return None


@app.command()
def serve(
    layer: Annotated[
        list[str],
        typer.Option(help="Layer(s) to serve: system, process, experience; all when omitted."),
    ] = [],  # noqa: B006
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve one layer (or several) of APIs; the layers below are reached at their base URLs."""
    from ledgerbridge.bootstrap import open_house
    from ledgerbridge.demo.servers import serving
    from ledgerbridge.runtime.app_factory import Layer
    from ledgerbridge.runtime.logging import configure_logging
    from ledgerbridge.runtime.settings import Settings

    settings = Settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    try:
        layers = {Layer(name) for name in layer} or set(Layer)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--layer") from exc

    async def main() -> None:
        async with (
            open_house(settings, layers=layers) as house,
            serving(house.app, host=host, port=port) as url,
        ):
            console.print(f"serving {', '.join(sorted(layers))} at {url}")
            await asyncio.Event().wait()

    _run(main())


@app.command()
def worker(
    claim_lease: Annotated[
        float,
        typer.Option(min=1, help="Seconds after which a dead worker's case claim is taken over."),
    ] = 120.0,
    grace: Annotated[
        float, typer.Option(min=0, help="Seconds in-flight work may take to finish on SIGTERM.")
    ] = 10.0,
) -> None:
    """Run the Process layer's background work (outbox relay, case advancer, scheduled jobs,
    and the CRM's Order changes when the System layer is embedded) against the configured
    store and bus, serving no HTTP; SIGTERM or SIGINT stops it.

    The System APIs are reached at LEDGERBRIDGE_SYSTEM_URL when set, else embedded here.
    Run as many side by side as needed on PostgreSQL (see docs/reliability.md).
    """
    import signal

    from ledgerbridge.apis.process.workers import WorkerTuning
    from ledgerbridge.bootstrap import open_house
    from ledgerbridge.runtime.app_factory import Layer
    from ledgerbridge.runtime.logging import configure_logging
    from ledgerbridge.runtime.settings import Settings

    settings = Settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    if not settings.process.workers:
        console.print("LEDGERBRIDGE_PROCESS__WORKERS is off: this worker would do nothing")
        raise typer.Exit(code=2)
    layers = {Layer.PROCESS} if settings.system_url else {Layer.SYSTEM, Layer.PROCESS}
    tuning = WorkerTuning(claim_lease=timedelta(seconds=claim_lease), shutdown_grace=grace)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with open_house(settings, layers=layers, tuning=tuning):
            console.print("worker running", highlight=False)
            await stop.wait()
        console.print("worker stopped", highlight=False)

    asyncio.run(main())


@app.command()
def sandbox(
    which: Annotated[Sandbox, typer.Argument(help="Which backend to stand in for.")],
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: a free one).")] = 0,
    database: Annotated[
        Path | None, typer.Option(help="SQLite file (default var/<which>.sqlite3).")
    ] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the database file first.")] = False,
    tls: Annotated[
        bool, typer.Option("--tls", help="CRM: serve HTTPS with a fresh self-signed CA.")
    ] = False,
    certificate_dir: Annotated[
        Path | None, typer.Option(help="CRM with --tls: where ca.pem and server.pem go.")
    ] = None,
    daily_limit: Annotated[
        int | None, typer.Option(min=1, help="CRM: API requests allowed per day.")
    ] = None,
    delivery_delay: Annotated[
        float | None,
        typer.Option(min=0, help="ERP: seconds until an unblocked order delivers itself."),
    ] = None,
    fault: Annotated[
        list[str],
        typer.Option(help="ROUTE:STATUS:RATE, such as '/services/data/*:503:0.2'; repeatable."),
    ] = [],  # noqa: B006
    latency_ms: Annotated[int, typer.Option(min=0, help="Added to every response.")] = 0,
    outage: Annotated[
        list[str],
        typer.Option(help="START:SECONDS (START: seconds after start-up, or ISO); repeatable."),
    ] = [],  # noqa: B006
    fault_seed: Annotated[int, typer.Option(help="Seed of the injected faults.")] = 0,
    generate: Annotated[
        int | None, typer.Option(min=1, help="Seed this many customers (with their data) first.")
    ] = None,
    scenario: Annotated[
        Scenario, typer.Option(help="With --generate: matched, or mismatched.")
    ] = Scenario.MATCHED,
    seed: Annotated[int, typer.Option(help="With --generate: seed of the data.")] = 7,
    manifest: Annotated[
        Path | None, typer.Option(help="With --generate: write the manifest (JSON) here.")
    ] = None,
) -> None:
    """Run the CRM or ERP sandbox as its own process, with injected faults and seeded data.

    Seeding the same --generate, --scenario and --seed into the CRM and into the ERP (two
    processes) gives data that links up across both.
    """
    from ledgerbridge.sandboxes.generator.launch import Faults, Generate, Launch, serve

    path = database or Path("var") / f"{which}.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    if fresh:
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
    try:
        launch = Launch(
            which=which.value,
            database=path,
            host=host,
            port=port,
            tls=tls,
            certificate_dir=certificate_dir,
            daily_limit=daily_limit,
            delivery_delay=delivery_delay,
            faults=Faults(tuple(fault), latency_ms, tuple(outage), fault_seed),
            generate=None if generate is None else Generate(generate, scenario, seed, manifest),
        )
        _run(serve(launch, lambda line: console.print(line, highlight=False, soft_wrap=True)))
    except ValueError as exc:
        console.print(f"ledgerbridge sandbox: {exc}", highlight=False)
        raise typer.Exit(code=2) from exc


@app.command("generate")
def generate_data(
    crm: Annotated[
        str | None, typer.Option(help="Base URL of a running, empty CRM sandbox.")
    ] = None,
    erp: Annotated[
        str | None, typer.Option(help="Base URL of a running, empty ERP sandbox.")
    ] = None,
    customers: Annotated[int, typer.Option(min=1, help="How many customers.")] = 100,
    products: Annotated[int, typer.Option(min=0, help="How many products (0: by customers).")] = 0,
    open_orders: Annotated[int, typer.Option(min=0, help="Open orders per customer.")] = 1,
    historical_orders: Annotated[
        int, typer.Option(min=0, help="Invoiced orders per customer.")
    ] = 2,
    scenario: Annotated[Scenario, typer.Option(help="matched, or mismatched.")] = Scenario.MATCHED,
    seed: Annotated[int, typer.Option(help="Seed of the data.")] = 7,
    manifest: Annotated[Path | None, typer.Option(help="Write the manifest (JSON) here.")] = None,
    crm_ca: Annotated[Path | None, typer.Option(help="CA file for an HTTPS CRM sandbox.")] = None,
) -> None:
    """Seed running sandboxes over HTTP with deterministic data (and write its manifest)."""
    from ledgerbridge.sandboxes.generator import Sizes, make_plan, write_manifest
    from ledgerbridge.sandboxes.generator.crm_remote import RemoteCrm
    from ledgerbridge.sandboxes.generator.erp_remote import RemoteErp
    from ledgerbridge.sandboxes.generator.errors import SeedingFailed
    from ledgerbridge.sandboxes.generator.running import seed_running
    from ledgerbridge.sandboxes.generator.seeding import Unexpected

    if crm is None and erp is None:
        console.print("ledgerbridge generate: give --crm URL, --erp URL or both")
        raise typer.Exit(code=2)
    try:
        sizes = Sizes(
            customers=customers,
            products=products,
            open_orders_per_customer=open_orders,
            historical_orders_per_customer=historical_orders,
        )
        plan = make_plan(seed=seed, sizes=sizes, scenario=scenario)
        verify = ssl.create_default_context(cafile=str(crm_ca)) if crm_ca else True
        crm_sink = None if crm is None else RemoteCrm(crm, verify=verify)
        erp_sink = None if erp is None else RemoteErp(erp)
        written, seeded = seed_running(plan, crm=crm_sink, erp=erp_sink)
    except (ValueError, SeedingFailed, Unexpected) as exc:
        console.print(f"ledgerbridge generate: {exc}", highlight=False)
        raise typer.Exit(code=1) from exc
    if manifest is not None:
        write_manifest(written, manifest)
    console.print(
        f"seeded {seeded.crm_records} CRM and {seeded.erp_records} ERP records in "
        f"{seeded.seconds:.1f} s ({seeded.records_per_second:,.0f} records/s), "
        f"{len(written.mismatches)} mismatches",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def catalog(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the Markdown page.")] = False,
    graph: Annotated[bool, typer.Option("--graph", help="Print the Mermaid graph.")] = False,
    output: Annotated[Path | None, typer.Option(help="Write to this file, not stdout.")] = None,
) -> None:
    """List every API: layer, versions and their status, owner, scopes, SLO and calls."""
    from ledgerbridge.runtime.catalog import catalog_json, catalog_markdown, catalog_mermaid

    entries = asyncio.run(_catalog())
    if as_json or markdown or graph:
        if as_json:
            text = json.dumps(catalog_json(entries), indent=2)
        else:
            text = catalog_markdown(entries) if markdown else catalog_mermaid(entries)
        if output is None:
            typer.echo(text)
        else:
            output.write_text(text if text.endswith("\n") else f"{text}\n", encoding="utf-8")
        return
    table = Table(title="ledgerbridge APIs")
    for column in ("name", "layer", "versions", "owner", "scopes", "SLO", "calls"):
        table.add_column(column)
    for entry in entries:
        table.add_row(
            entry.name,
            entry.layer.value,
            "\n".join(f"v{v.meta.version} {v.status.value}" for v in entry.versions),
            entry.owner,
            "\n".join(entry.scopes),
            entry.slo,
            ", ".join(entry.calls),
        )
    console.print(table)


async def _catalog() -> list[CatalogEntry]:
    from ledgerbridge.bootstrap import open_house
    from ledgerbridge.runtime.catalog import build_catalog
    from ledgerbridge.runtime.settings import Settings

    async with open_house(Settings(), migrate=False) as house:
        return build_catalog(house.apis, now=house.insight.clock.now())


@app.command()
def kpis(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Order-to-cash KPIs from the case timelines in the store: cycle time, STP rate,
    manual intervention rate, credit decision and exception resolution times."""
    from ledgerbridge.apis.process.order_to_cash.kpis import compute
    from ledgerbridge.runtime.settings import Settings
    from ledgerbridge.runtime.store import Store

    async def main() -> OrderToCashKpis:
        store = Store(Settings().database_url)
        try:
            await store.upgrade()
            async with store.engine.connect() as conn:
                return await compute(conn)
        finally:
            await store.dispose()

    figures = asyncio.run(main())
    if as_json:
        typer.echo(figures.model_dump_json(indent=2))
        return
    table = Table(title="order-to-cash KPIs")
    for column in ("measure", "value"):
        table.add_column(column)

    def rate(value: float | None) -> str:
        return "-" if value is None else f"{value:.1%}"

    table.add_row(
        "cases (open / closed)", f"{figures.cases} ({figures.open_cases} / {figures.closed_cases})"
    )
    table.add_row("straight-through rate", rate(figures.straight_through_rate))
    table.add_row("manual intervention rate", rate(figures.manual_intervention_rate))
    for name, stats in (
        ("cycle time", figures.cycle_time),
        ("credit decision time", figures.credit_decision_time),
        ("exception resolution time", figures.exception_resolution_time),
    ):
        shown = (
            "-" if stats.median is None else f"median {stats.median:.3f} s, p95 {stats.p95:.3f} s"
        )
        table.add_row(f"{name} (n={stats.count})", shown)
    table.add_row("by state", ", ".join(f"{k} {v}" for k, v in figures.by_state.items()) or "-")
    console.print(table)


@app.command()
def analytics(
    api: Annotated[str | None, typer.Option(help="Only this API.")] = None,
    version: Annotated[int | None, typer.Option(help="Only this major version.")] = None,
    consumer: Annotated[str | None, typer.Option(help="Only this consumer.")] = None,
    days: Annotated[int, typer.Option(min=1, help="How many days back, today included.")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """API usage per consumer, API, version and day: calls, errors, latency percentiles.

    With --api and --version: who still calls that version, and how often (what a sunset needs).
    """
    from ledgerbridge.runtime.settings import Settings

    settings = Settings()
    rows = asyncio.run(_analytics(settings, api, version, consumer, days))
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(row) for row in rows], indent=2, default=str))
        return
    title = f"callers of {api} v{version}" if api and version else "API usage per day"
    table = Table(title=f"{title}, last {days} days")
    columns = [f.name for f in dataclasses.fields(rows[0])] if rows else ["(no calls recorded)"]
    for column in columns:
        table.add_column(column, justify="right" if column not in _TEXT_COLUMNS else "left")
    for row in rows:
        table.add_row(*(_cell(getattr(row, column)) for column in columns))
    console.print(table)


_TEXT_COLUMNS = {"day", "api", "consumer", "first_day", "last_day"}


def _cell(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, float) else str(value)


async def _analytics(
    settings: Settings, api: str | None, version: int | None, consumer: str | None, days: int
) -> Sequence[UsageDay | CallerSummary]:
    from ledgerbridge.runtime.observability import callers_of, usage_days
    from ledgerbridge.runtime.store import Store

    store = Store(settings.database_url)
    try:
        if api is not None and version is not None and consumer is None:
            return await callers_of(store, api=api, version=version, days=days)
        since = datetime.now(UTC).date() - timedelta(days=days - 1)
        return await usage_days(store, api=api, version=version, consumer=consumer, since=since)
    finally:
        await store.dispose()


_SNAPSHOTS = Path("openapi")


@contracts.command("snapshot")
def contracts_snapshot(
    root: Annotated[Path, typer.Option(help="Folder of the snapshots.")] = _SNAPSHOTS,
) -> None:
    """Record every API version's live OpenAPI document as its snapshot (deliberately)."""
    from ledgerbridge.runtime.versioning import write_snapshots

    written = write_snapshots(asyncio.run(_live_contracts()), root)
    for path in written:
        console.print(f"wrote {path}")
    console.print(f"{len(written)} snapshot(s) changed")


@contracts.command("check")
def contracts_check(
    root: Annotated[Path, typer.Option(help="Folder of the snapshots.")] = _SNAPSHOTS,
) -> None:
    """Fail on a breaking change of any API version against its snapshot."""
    from ledgerbridge.runtime.versioning import check_contracts

    checks = check_contracts(asyncio.run(_live_contracts()), root)
    for check in checks:
        console.print(f"{check.state.value:>12}  {check.base_path}", highlight=False)
        for change in check.changes:
            console.print(f"              {change}", highlight=False)
    failed = [check for check in checks if check.state.fails]
    if failed:
        console.print(
            f"{len(failed)} API version(s) fail the gate: serve the change as a new major "
            "version, or update the snapshot deliberately (ledgerbridge contracts snapshot)"
        )
        raise typer.Exit(code=1)


@contracts.command("lint")
def contracts_lint(
    warnings: Annotated[bool, typer.Option("--warnings", help="List warnings too.")] = False,
) -> None:
    """Check every API version's live OpenAPI document against our ruleset."""
    from ledgerbridge.runtime.versioning import Severity, lint_openapi

    counts = {Severity.ERROR: 0, Severity.WARNING: 0}
    for base_path, doc in sorted(asyncio.run(_live_contracts()).items()):
        for finding in lint_openapi(doc):
            counts[finding.severity] += 1
            if finding.severity is Severity.ERROR or warnings:
                console.print(f"{base_path} {finding}", highlight=False)
    console.print(f"{counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} warning(s)")
    if counts[Severity.ERROR]:
        raise typer.Exit(code=1)


async def _live_contracts() -> dict[str, dict[str, Any]]:
    from fastapi import FastAPI
    from starlette.routing import Mount

    from ledgerbridge.bootstrap import open_house
    from ledgerbridge.runtime.settings import Settings

    async with open_house(Settings(), migrate=False) as house:
        return {
            route.path: route.app.openapi()
            for route in house.app.routes
            if isinstance(route, Mount) and isinstance(route.app, FastAPI)
        }


@db.command("upgrade")
def db_upgrade() -> None:
    """Bring the store's schema to the newest migration."""
    from ledgerbridge.runtime.settings import Settings
    from ledgerbridge.runtime.store import Store

    settings = Settings()

    async def main() -> None:
        store = Store(settings.database_url)
        await store.upgrade()
        await store.dispose()

    asyncio.run(main())
    console.print(f"store at {settings.database_url} is up to date")


@audit.command("verify")
def audit_verify(
    anchor: Annotated[
        str | None,
        typer.Option(help="A head recorded earlier, as SEQ:HASH; catches a truncated tail."),
    ] = None,
) -> None:
    """Check the audit trail's hash chain; name the first altered, removed or reordered entry."""
    from ledgerbridge.runtime.audit import AuditTrail, ChainHead
    from ledgerbridge.runtime.settings import Settings
    from ledgerbridge.runtime.store import Store

    head = None
    if anchor is not None:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise typer.BadParameter("expected SEQ:HASH", param_hint="--anchor")
        head = ChainHead(int(seq), digest)
    settings = Settings()

    async def main() -> None:
        store = Store(settings.database_url)
        try:
            verdict = await AuditTrail(store).verify(anchor=head)
        finally:
            await store.dispose()
        if not verdict.ok:
            console.print(f"[red]audit trail broken[/red]: {verdict.reason}")
            console.print(f"first bad entry: {verdict.first_bad} ({verdict.checked} intact before)")
            raise typer.Exit(1)
        top = f"{verdict.head.seq}:{verdict.head.hash}" if verdict.head else "empty"
        console.print(f"audit trail intact: {verdict.checked} entries, head {top}")

    asyncio.run(main())


@token.command("hash-secret")
def token_hash_secret(
    secret: Annotated[str, typer.Option(prompt=True, hide_input=True, help="The client secret.")],
) -> None:
    """Print the argon2 hash of a client secret, for the clients file."""
    from ledgerbridge.runtime.security import hash_secret

    typer.echo(hash_secret(secret))


@token.command("new-keys")
def token_new_keys(
    path: Annotated[Path, typer.Argument(help="Where to write the private JWK set.")],
) -> None:
    """Write a new signing key (ES256) as a private JWK set, readable by its owner only."""
    from ledgerbridge.runtime.security import new_signing_key

    if path.exists():
        raise typer.BadParameter(f"{path} exists; rotate by adding a key to it", param_hint="path")
    key = new_signing_key()
    path.touch(mode=0o600)
    path.write_text(json.dumps({"keys": [key.as_dict(private=True)]}, indent=2), encoding="utf-8")
    console.print(f"signing key {key.kid} written to {path}")


T = TypeVar("T")


async def _in_store(work: Callable[[Store], Awaitable[T]]) -> T:
    """Run ``work`` on the configured store, brought up to date first."""
    from ledgerbridge.runtime.settings import Settings
    from ledgerbridge.runtime.store import Store

    store = Store(Settings().database_url)
    try:
        await store.upgrade()
        return await work(store)
    finally:
        await store.dispose()


class DlqStatus(enum.StrEnum):
    """Statuses to list dead letters by; ``any`` lists them all."""

    OPEN = "open"
    REPLAYING = "replaying"
    REPLAYED = "replayed"
    DISCARDED = "discarded"
    ANY = "any"


class DlqKind(enum.StrEnum):
    """What failed: a consumed message or a process step."""

    MESSAGE = "message"
    STEP = "step"


KindOption = Annotated[DlqKind | None, typer.Option(help="message or step.")]
SourceOption = Annotated[str | None, typer.Option(help="The topic, or the step.")]
ConsumerOption = Annotated[str | None, typer.Option(help="The consumer group, or the process.")]
CaseOption = Annotated[str | None, typer.Option("--case", help="The case it belongs to.")]
SinceOption = Annotated[str | None, typer.Option(help="Dead-lettered at or after (ISO 8601).")]
UntilOption = Annotated[str | None, typer.Option(help="Dead-lettered before (ISO 8601).")]
LimitOption = Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")]
ActorOption = Annotated[str, typer.Option(help="Who acts, for the audit trail.")]
_CLI_ACTOR = "operator@cli"


def _instant(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 time; a time without offset is UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=option) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dlq_filter(
    status: DlqStatus,
    kind: DlqKind | None,
    source: str | None,
    consumer: str | None,
    case: str | None,
    since: str | None,
    until: str | None,
    limit: int,
) -> DeadLetterFilter:
    from ledgerbridge.runtime.dead_letters import DeadLetterFilter, Kind, Status

    return DeadLetterFilter(
        status=None if status is DlqStatus.ANY else Status(status.value),
        kind=None if kind is None else Kind(kind.value),
        source=source,
        consumer=consumer,
        case_id=case,
        since=_instant(since, "--since"),
        until=_instant(until, "--until"),
        limit=limit,
    )


@dlq.command("list")
def dlq_list(
    status: Annotated[DlqStatus, typer.Option(help="Only this status.")] = DlqStatus.OPEN,
    kind: KindOption = None,
    source: SourceOption = None,
    consumer: ConsumerOption = None,
    case: CaseOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Dead letters, oldest first (the open ones unless --status says otherwise)."""
    from ledgerbridge.apis.process.dead_letters.listing import summary
    from ledgerbridge.runtime.dead_letters import list_dead_letters

    where = _dlq_filter(status, kind, source, consumer, case, since, until, limit)

    async def read(store: Store) -> list[Any]:
        async with store.engine.connect() as conn:
            return [summary(d) for d in await list_dead_letters(conn, where)]

    found = asyncio.run(_in_store(read))
    if as_json:
        typer.echo(json.dumps([item.model_dump(mode="json") for item in found], indent=2))
        return
    table = Table(title=f"dead letters ({len(found)})")
    for column in ("id", "status", "kind", "source", "consumer", "case", "error", "at"):
        table.add_column(column, overflow="fold")
    for item in found:
        table.add_row(
            item.id,
            item.status,
            item.kind,
            item.source,
            item.consumer,
            item.case_id or "-",
            f"{item.error_type}: {item.error}",
            item.dead_lettered_at.isoformat(timespec="seconds"),
        )
    console.print(table)


@dlq.command("show")
def dlq_show(
    dead_letter_id: Annotated[str, typer.Argument(help="The dead letter's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One dead letter: payload, error, every attempt, correlation id, case and audit trail."""
    from ledgerbridge.apis.process.dead_letters.listing import detail
    from ledgerbridge.runtime.dead_letters import show_dead_letter

    async def read(store: Store) -> Any:
        async with store.engine.connect() as conn:
            shown = await show_dead_letter(conn, dead_letter_id)
        return None if shown is None else detail(*shown)

    letter = asyncio.run(_in_store(read))
    if letter is None:
        console.print(f"no dead letter {dead_letter_id}", highlight=False)
        raise typer.Exit(code=1)
    if as_json:
        typer.echo(letter.model_dump_json(indent=2))
        return
    facts = Table(title=f"dead letter {letter.id}", show_header=False)
    for name in ("status", "kind", "source", "consumer", "message_id", "message_type", "reason"):
        facts.add_row(name, str(getattr(letter, name)))
    facts.add_row("error", f"{letter.error_type}: {letter.error}")
    for name in ("correlation_id", "case_id", "replay_count", "dead_lettered_at", "resolved_at"):
        facts.add_row(name, str(getattr(letter, name)))
    facts.add_row("payload", json.dumps(letter.payload, indent=2))
    console.print(facts)
    attempts = Table(title="attempts")
    for column in ("#", "error", "at"):
        attempts.add_column(column, overflow="fold")
    for attempt in letter.attempts:
        attempts.add_row(
            str(attempt.number), f"{attempt.error_type}: {attempt.error}", str(attempt.at)
        )
    console.print(attempts)
    trail = Table(title="audit trail")
    for column in ("action", "actor", "note", "at"):
        trail.add_column(column, overflow="fold")
    for action in letter.actions:
        trail.add_row(action.action, action.actor, action.note or "", str(action.at))
    console.print(trail)


@dlq.command("replay")
def dlq_replay(
    dead_letter_ids: Annotated[
        list[str] | None, typer.Argument(help="Dead letters to replay; none: all matching.")
    ] = None,
    kind: KindOption = None,
    source: SourceOption = None,
    consumer: ConsumerOption = None,
    case: CaseOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: LimitOption = 100,
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm a bulk replay of every match.")
    ] = False,
    actor: ActorOption = _CLI_ACTOR,
) -> None:
    """Deliver dead letters again, once each: the given ids, or every open one matching the
    filters (with --yes). With a broker configured the replay is published to it; with the
    in-process bus it goes through the outbox, for the serving process's relay."""
    from ledgerbridge.apis.process.dead_letters.redelivery import open_replayer
    from ledgerbridge.runtime.dead_letters import (
        ReplayOutcome,
        list_dead_letters,
        replay_dead_letters,
    )
    from ledgerbridge.runtime.settings import Settings

    ids = dead_letter_ids or None
    filtered = any(v is not None for v in (kind, source, consumer, case, since, until))
    if ids and filtered:
        raise typer.BadParameter("give dead letter ids or filters, not both", param_hint="ids")
    where = _dlq_filter(DlqStatus.OPEN, kind, source, consumer, case, since, until, limit)
    settings = Settings()
    bus_url = settings.bus_url

    async def replay(store: Store) -> list[ReplayOutcome] | int:
        if ids is None and not yes:
            async with store.engine.connect() as conn:
                return len(await list_dead_letters(conn, where))
        async with open_replayer(store.engine, bus_url, settings.bus_namespace) as replayer:
            return await replay_dead_letters(
                store.engine, replayer, actor=actor, ids=ids, where=where
            )

    outcomes = asyncio.run(_in_store(replay))
    if isinstance(outcomes, int):
        console.print(
            f"{outcomes} open dead letter(s) match; add --yes to replay them", highlight=False
        )
        raise typer.Exit(code=1)
    table = Table(title=f"replayed through {bus_url}")
    for column in ("id", "result", "detail"):
        table.add_column(column, overflow="fold")
    for outcome in outcomes:
        table.add_row(outcome.id, outcome.result, outcome.detail)
    console.print(table)
    if any(o.result == "failed" for o in outcomes):
        raise typer.Exit(code=1)


@dlq.command("discard")
def dlq_discard(
    dead_letter_id: Annotated[str, typer.Argument(help="The dead letter's id.")],
    reason: Annotated[str, typer.Option(help="Why it is discarded (required, audited).")],
    actor: ActorOption = _CLI_ACTOR,
) -> None:
    """Close an open dead letter without replaying it."""
    from ledgerbridge.runtime.dead_letters import DeadLetter, discard_dead_letter
    from ledgerbridge.runtime.errors import LedgerbridgeError

    if not reason.strip():
        raise typer.BadParameter("a discard needs a reason", param_hint="--reason")

    async def discard(store: Store) -> DeadLetter | None:
        async with store.engine.begin() as conn:
            return await discard_dead_letter(
                conn, dead_letter_id, reason=reason.strip(), actor=actor
            )

    try:
        letter = asyncio.run(_in_store(discard))
    except LedgerbridgeError as exc:
        console.print(f"not discarded: {exc.message}", highlight=False)
        raise typer.Exit(code=1) from exc
    if letter is None:
        console.print(f"no dead letter {dead_letter_id}", highlight=False)
        raise typer.Exit(code=1)
    console.print(f"dead letter {letter.id} discarded: {letter.resolution_note}", highlight=False)


@dlq.command("stats")
def dlq_stats(
    since: Annotated[str | None, typer.Option(help="Resolved at or after (ISO 8601).")] = None,
) -> None:
    """Time from dead-lettering to resolution: mean, median, p95, longest; and how many wait."""
    from ledgerbridge.runtime.dead_letters import resolution_stats

    after = _instant(since, "--since")

    async def read(store: Store) -> Any:
        async with store.engine.connect() as conn:
            return await resolution_stats(conn, since=after)

    figures = asyncio.run(_in_store(read))
    table = Table(title="dead letters: time to resolution")
    for column in ("measure", "value"):
        table.add_column(column)
    table.add_row("resolved", str(figures.resolved))
    table.add_row("open", str(figures.open))
    for name in ("mean", "median", "p95", "longest"):
        value = getattr(figures, name)
        table.add_row(name, "-" if value is None else str(value))
    console.print(table)
