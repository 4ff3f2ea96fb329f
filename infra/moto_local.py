"""The local AWS stand-in: moto's server as installed, with one change for long test runs.

moto's TransactWriteItems backs up each table it touches with a deep copy before it writes,
once per item of the transaction, so every transaction costs time and memory in proportion to
the whole table. Over `make test` the table grows to tens of thousands of items: the copies
took the server past 20 GB, single requests past the SDK's 20 s operation timeout, and
copying while other threads write made it answer 500 ("dictionary changed size during
iteration"). Here a transaction backs up only the items it names and puts them back when it
is cancelled. Writes are serialised by one lock (moto's server is threaded; the GIL already
runs one request at a time), so no other write lands between a transaction's backup and its
restore: putting back an item the transaction did not change restores what is already there,
never a write of someone else's. Everything else is moto's own code.
"""

import copy
import sys
import threading
import types

from moto.dynamodb import models
from moto.server import main

_state = threading.local()
_writes = threading.RLock()
_deepcopy = copy.deepcopy


def _deepcopy_outside_transactions(value, memo=None):
    # Inside a transaction the table is not copied: the wrapper below keeps its items.
    if getattr(_state, "in_transaction", False) and isinstance(value, models.Table):
        return value
    return _deepcopy(value, memo)


models.copy = types.SimpleNamespace(deepcopy=_deepcopy_outside_transactions, copy=copy.copy)
_transact_write_items = models.DynamoDBBackend.transact_write_items


def _key_of(backend, op):
    table = backend.get_table(op["TableName"])
    if "Item" not in op:
        return op["Key"]
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _serialised(write):
    def locked(*args, **kwargs):
        with _writes:
            return write(*args, **kwargs)

    return locked


for _name in ("put_item", "update_item", "delete_item", "batch_write_item"):
    setattr(models.DynamoDBBackend, _name, _serialised(getattr(models.DynamoDBBackend, _name)))


@_serialised
def transact_write_items(self, transact_items):
    backups = []
    for entry in transact_items:
        try:
            _, op = next(iter(entry.items()))
            key = _key_of(self, op)
            current = self.get_item(op["TableName"], key)
        except Exception:  # noqa: BLE001 - moto's own code answers for a malformed entry
            continue
        attributes = None if current is None else current.to_json()["Attributes"]
        backups.append((op["TableName"], key, attributes))
    _state.in_transaction = True
    try:
        _transact_write_items(self, transact_items)
    except Exception:
        for table_name, key, attributes in reversed(backups):
            # Each item on its own: one that cannot be put back must not keep the rest.
            try:
                if attributes is None:
                    self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, attributes)
            except Exception:  # noqa: BLE001 - an item that was never written is absent already
                pass
        raise
    finally:
        _state.in_transaction = False


models.DynamoDBBackend.transact_write_items = transact_write_items

if __name__ == "__main__":
    sys.exit(main())
