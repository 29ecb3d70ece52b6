"""Where the shards live and who evaluates them: this process, or a Dask cluster.

``scheduler=None`` keeps the shards in memory and maps in a plain loop. ``"local"`` starts a
``dask.distributed.LocalCluster``; a ``"tcp://host:port"`` address connects to a running
scheduler. For Dask, shards are written to Parquet (one partition of three files per shard:
options with the dense coupling columns, the sparse coupling coefficients, customers; columns
read one at a time, integers narrowed, values kept in float64 because they enter the certified
bound), every shard is pinned to one
worker, and each worker reads its shards once and keeps them. A dual step is then a map
of one small task per shard and a sum of the returned vectors *in shard order*, the same
order as in memory: the sharded run follows the same multipliers and returns the same plan.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from .shard import Shard

__all__ = ["Executor", "InProcess", "DaskShards", "write_shards", "read_shard", "open_executor"]


class Executor(Protocol):
    def map(self, task: Callable[..., Any], *args: Any) -> list[Any]: ...

    def close(self) -> None:
        """Let the shards go (memory, workers, files); may be called more than once."""
        ...


class InProcess:
    """Shards in memory, evaluated in a loop in this process."""

    def __init__(self, shards: list[Shard]) -> None:
        self.shards = shards

    def map(self, task: Callable[..., Any], *args: Any) -> list[Any]:
        return [task(shard, *args) for shard in self.shards]

    def close(self) -> None:
        self.shards = []


def write_shards(shards: list[Shard], directory: str | Path) -> list[str]:
    """Write each shard as Parquet (options, coefficients, customers) under ``directory``; returns the shard stems."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    stems = []
    for k, s in enumerate(shards):
        stem = str(out / f"shard-{k:05d}")
        coef = s.coef.tocsr()
        pq.write_table(
            pa.table(
                {
                    "customer": s.customer.astype(np.int32), "offer": s.offer.astype(np.int16),
                    "channel": s.channel.astype(np.int16), "net": s.net.astype(np.float64),
                    "row": s.table_rows(np.arange(s.n_options)), "nnz": np.diff(coef.indptr).astype(np.int16),
                    **{f"dense_{d}": column.astype(np.float64) for d, column in enumerate(s.dense)},
                }
            ),
            stem + ".options.parquet",
        )
        pq.write_table(
            pa.table({"limit": coef.indices.astype(np.int16), "coef": coef.data.astype(np.float64)}),
            stem + ".coef.parquet",
        )
        pq.write_table(
            pa.table({"min_contacts": s.min_contacts.astype(np.int16), "max_contacts": s.max_contacts.astype(np.int16),
                      **{f"channel_cap_{k}": column for k, column in enumerate(() if s.channel_caps is None else s.channel_caps.T)}}),
            stem + ".customers.parquet",
        )
        if s.linked_room is not None:
            pq.write_table(pa.table({f"room_{k}": column for k, column in enumerate(s.linked_room.T)}), stem + ".linked.parquet")
        Path(stem + ".json").write_text(json.dumps({"first": s.first, "n_customers": s.n_customers, "n_limits": coef.shape[1], "n_dense": len(s.dense),
                                                 "n_channel_caps": 0 if s.channel_caps is None else s.channel_caps.shape[1],
                                                 "n_linked": None if s.linked_room is None else s.linked_room.shape[1]}))
        stems.append(stem)
    return stems


def _column(path: str, name: str) -> np.ndarray:
    return pq.read_table(path, columns=[name]).column(0).to_numpy()


def read_shard(stem: str) -> Shard:
    meta = json.loads(Path(stem + ".json").read_text())
    opts = stem + ".options.parquet"
    nnz = _column(opts, "nnz").astype(np.int64)
    indptr = np.zeros(nnz.size + 1, np.int64)
    np.cumsum(nnz, out=indptr[1:])
    coef = sp.csr_matrix(
        (_column(stem + ".coef.parquet", "coef"), _column(stem + ".coef.parquet", "limit").astype(np.int32), indptr),
        shape=(nnz.size, meta["n_limits"]),
    )
    return Shard(
        first=meta["first"], n_customers=meta["n_customers"], customer=_column(opts, "customer"),
        offer=_column(opts, "offer"), channel=_column(opts, "channel"), net=_column(opts, "net"), coef=coef,
        rows=_column(opts, "row"), min_contacts=_column(stem + ".customers.parquet", "min_contacts"),
        max_contacts=_column(stem + ".customers.parquet", "max_contacts"),
        dense=tuple(_column(opts, f"dense_{d}") for d in range(meta["n_dense"])),
        channel_caps=np.stack([_column(stem + ".customers.parquet", f"channel_cap_{k}") for k in range(meta["n_channel_caps"])], axis=1)
        if meta.get("n_channel_caps") else None,
        linked_room=None if meta.get("n_linked") is None
        else np.stack([_column(stem + ".linked.parquet", f"room_{k}") for k in range(meta["n_linked"])], axis=1).reshape(-1, meta["n_linked"]),
    )


_LOADED: dict[str, Shard] = {}  # on each worker: the shards it has read


def _on_worker(stem: str, task: Callable[..., Any], args: tuple) -> Any:
    shard = _LOADED.get(stem)
    if shard is None:
        shard = _LOADED[stem] = read_shard(stem)
    return task(shard, *args)


def _forget(stems: list[str]) -> None:
    for stem in stems:
        _LOADED.pop(stem, None)


class DaskShards:
    """Shards on Parquet, each pinned to one worker of a dask.distributed cluster."""

    def __init__(self, client: Any, stems: list[str], *, owns_cluster: Any = None, tmp: Any = None) -> None:
        self.client, self.stems, self._cluster, self._tmp = client, stems, owns_cluster, tmp
        self._closed = False
        workers = sorted(client.scheduler_info()["workers"])
        if not workers:
            raise RuntimeError("the Dask cluster has no workers")
        self.placement = [workers[k % len(workers)] for k in range(len(stems))]

    def map(self, task: Callable[..., Any], *args: Any) -> list[Any]:
        futures = [
            self.client.submit(_on_worker, stem, task, args, workers=[w], allow_other_workers=False, pure=False)
            for stem, w in zip(self.stems, self.placement)
        ]
        return self.client.gather(futures)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.client.run(_forget, self.stems)
        except Exception:  # noqa: BLE001 - best effort: the cluster may already be gone
            pass
        if self._cluster is not None:
            self.client.close()
            self._cluster.close()
        if self._tmp is not None:
            self._tmp.cleanup()


def open_executor(
    shards: list[Shard],
    scheduler: str | None,
    *,
    directory: str | Path | None = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
) -> Executor:
    """In-process for ``scheduler=None``; otherwise write Parquet shards and connect to Dask."""
    if scheduler is None:
        return InProcess(shards)
    if scheduler != "local" and not scheduler.startswith("tcp://"):
        raise ValueError(f"scheduler(={scheduler!r}) must be None, 'local' or a 'tcp://host:port' address")
    from dask.distributed import Client, LocalCluster

    tmp = None
    if directory is None:
        tmp = tempfile.TemporaryDirectory(prefix="campaignlab-shards-")
        directory = tmp.name
    stems = write_shards(shards, directory)
    if scheduler == "local":
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True, dashboard_address=None)
        return DaskShards(Client(cluster), stems, owns_cluster=cluster, tmp=tmp)
    return DaskShards(Client(scheduler), stems, tmp=tmp)
