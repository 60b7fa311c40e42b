"""DynamoDB Streams on the local stack: what AWS's event source mapping does for the
record-trigger Lambda, done by polling moto's streams.

moto can call Lambdas mapped to a stream, but only through its Docker-backed Lambda; this
poller reads each stream's shards with GetRecords, as the mapping does, and hands each
batch to the handler in the Lambda event format (`{"Records": [...]}`). Records keep
their eventID, so handlers that derive ids from it behave as on AWS.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import boto3

LOG = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], Any]


class StreamPoller:
    """Reads new records from the streams of `tables` and passes them to `handler`."""

    def __init__(
        self,
        tables: list[str],
        handler: Handler,
        batch_size: int = 100,
        *,
        from_latest: bool = False,
    ) -> None:
        self.tables = tables
        self.handler = handler
        self.batch_size = batch_size
        # LATEST: only what is written from now on (a restored snapshot is no news);
        # TRIM_HORIZON: everything still in the stream, as a new event source mapping reads.
        self.start_type = "LATEST" if from_latest else "TRIM_HORIZON"
        self._iterators: dict[tuple[str, str], str | None] = {}
        self._dynamodb = boto3.client("dynamodb")
        self._streams = boto3.client("dynamodbstreams")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> int:
        """Deliver every record written since the last poll; how many were delivered. Once
        stop() is called, no further batch is started (a backlog would hold a stop up)."""
        delivered = 0
        for table in self.tables:
            if self._stop.is_set():
                break
            arn = self._dynamodb.describe_table(TableName=table)["Table"].get("LatestStreamArn")
            if not arn:
                continue
            shards = self._streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
            for shard in shards:
                delivered += self._drain(arn, shard["ShardId"])
        return delivered

    def start(self, interval: float = 0.2) -> None:
        """Poll in a background thread until `stop()`."""
        self.poll_once()  # take the shard positions now: later writes are all delivered

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.poll_once()
                except Exception:  # a failing batch is retried on the next poll, as on AWS
                    LOG.exception("stream batch failed; it will be delivered again")

        self._thread = threading.Thread(target=loop, name="stream-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Returns when the batch being delivered, if any, is done (at most 5 s later)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _drain(self, arn: str, shard_id: str) -> int:
        key = (arn, shard_id)
        iterator = self._iterators.get(key)
        if iterator is None:
            iterator = self._streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard_id, ShardIteratorType=self.start_type
            )["ShardIterator"]
        delivered = 0
        while not self._stop.is_set():
            answer = self._streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
            records = answer.get("Records", [])
            if records:
                for record in records:
                    record.setdefault("eventSourceARN", arn)
                # Only a handled batch moves the iterator on: a failure redelivers it.
                self.handler({"Records": records})
                delivered += len(records)
            iterator = answer.get("NextShardIterator") or iterator
            self._iterators[key] = iterator
            if not records:
                return delivered
        return delivered
