"""The ERP port of the System layer and its adapters: the ERP APIs speak canonical, not SAP."""

from ledgerbridge.apis.system._erp.port import ErpPort
from ledgerbridge.apis.system._erp.s4hana import S4HanaErp
from ledgerbridge.apis.system._erp.switch import ErpSwitch
from ledgerbridge.apis.system._erp.tryton import TrytonErp

__all__ = ["ErpPort", "ErpSwitch", "S4HanaErp", "TrytonErp"]
