"""The data contract: canonical column names and their dtypes.

Every clvkit function that takes transactions expects these names. Map your own
names onto them once, at the boundary, with :func:`clvkit.load_transactions`.
"""

from __future__ import annotations

__all__ = [
    "CUSTOMER_ID", "DATE", "AMOUNT", "ORDER_ID", "QUANTITY", "CHANNEL", "PRODUCT",
    "REQUIRED", "OPTIONAL", "CANONICAL",
]

CUSTOMER_ID = "customer_id"
DATE = "date"
AMOUNT = "amount"
ORDER_ID = "order_id"
QUANTITY = "quantity"
CHANNEL = "channel"
PRODUCT = "product"

#: Columns every transaction table must have.
REQUIRED = (CUSTOMER_ID, DATE, AMOUNT)
#: Columns used when present.
OPTIONAL = (ORDER_ID, QUANTITY, CHANNEL, PRODUCT)
CANONICAL = REQUIRED + OPTIONAL
