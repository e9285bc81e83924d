"""Stand up a real Tryton for the demo and the tests: a ready database, copies, a server.

Usage::

    with start_ready_server(Path("var/tryton"), workdir, "erp", progress=report) as server:
        async with TrytonClient(
            base_url=server.base_url, database="erp",
            username=INTEGRATION_LOGIN, password=INTEGRATION_PASSWORD,
        ) as tryton:
            ...

Needs the ``tryton`` extra (``pip install 'ledgerbridge[tryton]'``); ``tryton_installed()``
tells. Tryton always runs in child processes, never inside ours.
"""

from ledgerbridge.tryton_setup._dataset import (
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    COMPANY_NAME,
    CURRENCY_CODE,
    CUSTOMERS,
    INTEGRATION_LOGIN,
    INTEGRATION_PASSWORD,
    MODULES,
    PAYMENT_METHOD_NAME,
    PAYMENT_TERM_NAME,
    PRODUCT_CATEGORY_NAME,
    PRODUCTS,
    DemoCustomer,
    DemoProduct,
)
from ledgerbridge.tryton_setup._server import (
    TrytonServer,
    free_port,
    run_admin,
    sqlite_file,
    start_server,
    tryton_installed,
)
from ledgerbridge.tryton_setup._template import (
    Progress,
    build_template,
    copy_template,
    ensure_template,
    start_ready_server,
    template_key,
)

__all__ = [
    "ADMIN_LOGIN",
    "ADMIN_PASSWORD",
    "COMPANY_NAME",
    "CURRENCY_CODE",
    "CUSTOMERS",
    "INTEGRATION_LOGIN",
    "INTEGRATION_PASSWORD",
    "MODULES",
    "PAYMENT_METHOD_NAME",
    "PAYMENT_TERM_NAME",
    "PRODUCTS",
    "PRODUCT_CATEGORY_NAME",
    "DemoCustomer",
    "DemoProduct",
    "Progress",
    "TrytonServer",
    "build_template",
    "copy_template",
    "ensure_template",
    "free_port",
    "run_admin",
    "sqlite_file",
    "start_ready_server",
    "start_server",
    "template_key",
    "tryton_installed",
]
