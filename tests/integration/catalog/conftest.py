"""One billing stack per module for the catalog tests (the billing package's fixtures), plus an
operator client and a ledger check after every test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.billing.conftest import bill_db, bill_prefix  # noqa: F401 - fixtures
from tests.support.billing_stack import BillingStack, billing_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, bill_db: str, redis_url: str,  # noqa: F811
          bill_prefix: str) -> Iterator[BillingStack]:  # noqa: F811
    with billing_stack(tmp_path_factory.mktemp("catalog"), bill_db, redis_url, bill_prefix) as s:
        yield s


@pytest.fixture(scope="module")
def admin(stack: BillingStack) -> Iterator[httpx.Client]:
    """The operator API, on the control plane's own port with DF_ADMIN_TOKEN."""
    with httpx.Client(base_url=stack.control.url, timeout=20,
                      headers={"Authorization": f"Bearer {stack.admin}"}) as client:
        yield client


@pytest.fixture(autouse=True)
def ledger_checked(stack: BillingStack) -> Iterator[None]:
    yield
    stack.ledger_check()
