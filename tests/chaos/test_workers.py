"""Several `ledgerbridge worker` processes on one PostgreSQL store run each saga step once,
and a scheduled job's turn goes to one worker."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest

from ledgerbridge.apis.process.workers import take_turn
from ledgerbridge.runtime.store import Store
from tests.chaos.test_order_to_cash_chaos import _erp_count, _seed, _submit
from tests.chaos.world import open_world

ORDERS = 10
START_STEPS = ("ensure-customer", "create-sales-order", "link-crm-order")


@pytest.mark.postgres
async def test_two_workers_over_the_same_stalled_cases_run_each_step_once(
    tmp_path: Path,
) -> None:
    """Cases whose start stalled on an ERP outage are resumed by two workers racing for them:
    each start step is recorded once per case, each state entered once, one ERP order each;
    SIGTERM then stops both cleanly."""
    async with open_world("postgres-memory", tmp_path) as world:
        plan = [order for order in await _seed(world, ORDERS + 2) if not order.referred]
        down = await world.erp_admin.put(
            "/sandbox/admin/faults",
            json={"rules": [{"route": "/sap/opu/odata/sap/*", "error_rates": {"503": 1.0}}]},
        )
        assert down.is_success, down.text
        for order in plan:
            await _submit(world, order)
        stalled = await world.rows("SELECT state, status FROM o2c_case")
        assert {(row.state, row.status) for row in stalled} == {("validated", "failed")}

        # The stalled cases are the test's: the CRM's change events would start the others too.
        world.workers.env["LEDGERBRIDGE_PROCESS__CRM_CHANGES"] = "false"
        world.workers.start()
        world.workers.start()
        await world.erp_admin.delete("/sandbox/admin/faults")
        deadline = time.monotonic() + 90
        while True:
            states = Counter(row.state for row in await world.rows("SELECT state FROM o2c_case"))
            if states == {"erp_order_created": len(plan)}:
                break
            assert time.monotonic() < deadline, states
            await asyncio.sleep(0.3)
        exit_codes = await asyncio.to_thread(world.workers.stop)

        steps = Counter(
            (row.case_id, row.name)
            for row in await world.rows("SELECT case_id, name FROM o2c_step WHERE outcome = 'ok'")
        )
        entered = Counter(
            (row.case_id, row.state)
            for row in await world.rows("SELECT case_id, state FROM o2c_transition")
        )
        case_ids = [row.case_id for row in await world.rows("SELECT case_id FROM o2c_case")]
        for case_id in case_ids:
            assert [steps[case_id, name] for name in START_STEPS] == [1, 1, 1], case_id
        assert set(entered.values()) == {1}
        sales_orders = await _erp_count(world, "API_SALES_ORDER_SRV", "A_SalesOrder")
        assert [sales_orders[order.crm_order_id] for order in plan] == [1] * len(plan)
        assert exit_codes == [0, 0]
        logs = await asyncio.to_thread(
            lambda: [path.read_text() for path in tmp_path.glob("worker-*.log")]
        )
        assert logs
        assert all("worker stopped" in log for log in logs)


async def test_a_scheduled_turn_goes_to_one_worker(store: Store) -> None:
    """Ten workers reaching a due schedule at once: one runs it; none again before it is due."""
    turns = await asyncio.gather(
        *(take_turn(store.engine, "schedule.test", 3600) for _ in range(10))
    )
    assert turns.count(True) == 1
    again = await asyncio.gather(
        *(take_turn(store.engine, "schedule.test", 3600) for _ in range(10))
    )
    assert again.count(True) == 0
