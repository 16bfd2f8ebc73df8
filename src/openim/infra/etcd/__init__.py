"""etcd, for `discovery.enable: etcd`: a small v3 client over etcd's JSON gateway and the process registry on it.

* `EtcdClient` (`client.py`) — lease grant / keep-alive / revoke, put, prefix range, delete, version;
* `EtcdRegistry` (`discovery.py`) — the `Registry` of `infra/discovery.py`, keys under `/<rootDirectory>/`.
"""

from __future__ import annotations

from openim.infra.etcd.client import EtcdClient, EtcdError
from openim.infra.etcd.discovery import EtcdRegistry, entry_key, root_prefix

__all__ = ["EtcdClient", "EtcdError", "EtcdRegistry", "entry_key", "root_prefix"]
