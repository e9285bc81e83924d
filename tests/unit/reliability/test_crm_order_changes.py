"""Which CRM Order changes the crm-orders bridge turns into messages, and their ids."""

from __future__ import annotations

from typing import Any

from ledgerbridge.apis.system.crm_orders.changes import messages_of
from ledgerbridge.connectors.salesforce import ChangeEvent

ORDER = "801000000000001AAA"


def _event(
    replay_id: int, change_type: str, fields: dict[str, Any], entity: str = "Order"
) -> ChangeEvent:
    return ChangeEvent(
        replay_id=replay_id,
        entity=entity,
        change_type=change_type,
        record_ids=[ORDER],
        changed_fields=list(fields) if change_type == "UPDATE" else [],
        transaction_key="t",
        commit_timestamp=0,
        fields=fields,
        header={},
    )


def test_a_status_set_to_activated_or_cancelled_becomes_one_message_each() -> None:
    ((topic, message),) = messages_of(_event(7, "UPDATE", {"Status": "Activated"}))
    assert (topic, message.type, message.subject) == ("crm.order.activated", topic, ORDER)
    assert message.data == {"crm_order_id": ORDER}
    ((topic, _),) = messages_of(_event(8, "UPDATE", {"Status": "Cancelled"}))
    assert topic == "crm.order.cancelled"


def test_other_changes_become_nothing() -> None:
    assert messages_of(_event(1, "CREATE", {"Status": "Draft", "Name": "x"})) == []
    assert messages_of(_event(2, "UPDATE", {"Description": "Activated"})) == []
    assert messages_of(_event(3, "UPDATE", {"Status": "Draft"})) == []
    assert messages_of(_event(4, "DELETE", {})) == []
    assert messages_of(_event(5, "UPDATE", {"Status": "Activated"}, entity="Account")) == []


def test_the_same_change_read_twice_is_the_same_message_and_another_change_is_not() -> None:
    first = messages_of(_event(7, "UPDATE", {"Status": "Activated"}))[0][1]
    again = messages_of(_event(7, "UPDATE", {"Status": "Activated"}))[0][1]
    later = messages_of(_event(9, "UPDATE", {"Status": "Activated"}))[0][1]
    assert first.id == again.id
    assert later.id != first.id
