"""GET /metrics of `sigsync serve`, in the Prometheus text format (prometheus_client).

Counted by serve: requests by answer, answer latency, batch sizes, ingest results by status,
spool depth and what went through it. Read from the database at each scrape (when the role
may read the views, i.e. has sigsync_reader; else these are absent): seconds since the last
cycle, mean health, open gaps by type.
"""

from __future__ import annotations

from typing import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

CONTENT_TYPE = CONTENT_TYPE_LATEST

HEALTH_SQL = ("SELECT extract(epoch FROM now() - last_cycle_at)::float8, mean_health::float8, open_gaps"
              " FROM sigsync.system_health")
GAPS_SQL = "SELECT gap_type, open_count FROM sigsync.gap_summary ORDER BY gap_type"


class _DatabaseFigures:
    """A collector of the figures read at the last scrape (none when they could not be read)."""

    def __init__(self) -> None:
        self.cycle_age: float | None = None
        self.mean_health: float | None = None
        self.open_gaps: dict[str, int] = {}
        self.readable = False

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if not self.readable:
            return
        if self.cycle_age is not None:
            yield GaugeMetricFamily("sigsync_seconds_since_last_cycle",
                                    "Seconds since the latest finished reconcile cycle", value=self.cycle_age)
        if self.mean_health is not None:
            yield GaugeMetricFamily("sigsync_mean_health", "Mean health score of the reconciled signals (0-100)",
                                    value=self.mean_health)
        gaps = GaugeMetricFamily("sigsync_open_gaps", "Open gaps by gap type", labels=["gap_type"])
        for gap_type, count in self.open_gaps.items():
            gaps.add_metric([gap_type], count)
        yield gaps


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("sigsync_webhook_requests", "Webhook requests by HTTP answer", ["answer"], registry=r)
        self.latency = Histogram("sigsync_webhook_answer_seconds", "Time from a webhook request to its answer",
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5),
                                 registry=r)
        self.batch_size = Histogram("sigsync_webhook_batch_size", "Bodies per ingest_many call (group commit)",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 10000), registry=r)
        self.results = Counter("sigsync_ingest_results", "Bodies by ingest result (replayed ones included)",
                               ["status"], registry=r)
        self.spool_records = Gauge("sigsync_spool_records", "Bodies waiting in the spool", registry=r)
        self.spool_bytes = Gauge("sigsync_spool_bytes", "Bytes of the bodies waiting in the spool", registry=r)
        self.spool_disk_bytes = Gauge("sigsync_spool_disk_bytes", "Bytes the spool's files take (segments and torn/), "
                                      "bounded by --spool-max-mb", registry=r)
        self.spooled = Counter("sigsync_spool_appended_records", "Bodies written to the spool", registry=r)
        self.replayed = Counter("sigsync_spool_replayed_records", "Spooled bodies committed to the database",
                                registry=r)
        self.torn = Counter("sigsync_spool_torn_records", "Damaged spool ranges found (never replayed): set aside in "
                            "torn/, or kept with their segment when torn/ could not take them", registry=r)
        self.header_timeouts = Counter("sigsync_http_header_timeouts", "Connections closed because no request line "
                                       "and headers arrived within --header-timeout", ["stage"], registry=r)
        self.database_up = Gauge("sigsync_database_up", "1 when the last database call succeeded", registry=r)
        self.tokens = Gauge("sigsync_webhook_tokens_active", "Active webhook tokens known to serve", registry=r)
        for stage in ("idle", "headers"):
            self.header_timeouts.labels(stage)
        self.database = _DatabaseFigures()
        r.register(self.database)
        self._answers: dict[int, Counter] = {}
        self._statuses: dict[str, Counter] = {}

    def answered(self, status: int, seconds: float) -> None:
        child = self._answers.get(status)
        if child is None:
            child = self._answers[status] = self.requests.labels(str(status))
        child.inc()
        self.latency.observe(seconds)

    def ingested(self, status: str, count: int = 1) -> None:
        child = self._statuses.get(status)
        if child is None:
            child = self._statuses[status] = self.results.labels(status)
        child.inc(count)

    async def read_database(self, conn) -> None:
        """Refresh the database figures (the caller bounds the time and catches errors)."""
        cur = await conn.execute(HEALTH_SQL)
        self.database.cycle_age, self.database.mean_health, _ = await cur.fetchone()
        cur = await conn.execute(GAPS_SQL)
        self.database.open_gaps = {g: n for g, n in await cur.fetchall()}
        self.database.readable = True

    def render(self) -> bytes:
        return generate_latest(self.registry)
