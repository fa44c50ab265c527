"""Which predictions a figure counts (Scope), and the one way figures read them: grouped rows from
the smallest rollup that has every dimension asked for, or from the prediction rows themselves
where no rollup can answer (a text search; inference times under a minimum confidence).

Time: rollups count per hour (or day) in UTC. A viewer's day is the hours that start on it in
their time zone, so in a zone whose offset is not whole hours (India, +5:30) a day runs from
00:30 to 00:30 local time. Day rollups serve whole UTC days; the hours at either end of a date
range come from an hour rollup; per-day figures for a viewer outside UTC come from day rollups
corrected by the hours at their ends on PostgreSQL (_local_days), from hour rollups elsewhere."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from django.db import connection
from django.db.models import (
    BooleanField,
    DateField,
    F,
    FilteredRelation,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce, TruncDate, TruncHour, TruncWeek

from analytics import cubes
from analytics.models import ROLLUPS
from scans.models import Prediction, Review

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Scope:
    """The predictions a viewer asked about. `owner` is the visibility restriction (None: everyone's),
    `user` the user filter; start/end are UTC instants on whole hours (end excluded)."""
    owner: int | None = None
    user: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    label: str | None = None
    model_version: str | None = None
    review: str | None = None
    out_of_scope: bool | None = None
    #  A minimum confidence in per cent (whole numbers are answered by the rollups' 1 % bins, others by
    #  the rows). The model's class and confidence are no result for an out-of-scope image: a class or
    #  confidence filter leaves those out.
    min_pct: int | float | None = None
    #  The label a scan stands at (its current review's class, else the model's in scope): rows only.
    headline_label: str | None = None
    q: str | None = None
    tz: tzinfo = field(default=UTC)
    #  Only the predictions of these scans (a queryset): read from the rows.
    scans: QuerySet | None = None

    @property
    def dated(self) -> bool:
        """Limited to a date range (from, to or both)."""
        return self.start is not None or self.end is not None

    def with_dates(self, first: date | None, last: date | None) -> Scope:
        """From the first to the last day (both included) in the viewer's zone."""
        return replace(self, start=day_start(first, self.tz) if first else None,
                       end=day_start(last + DAY, self.tz) if last else None)

    @property
    def filters(self) -> dict:
        found = {"owner_id": self.owner, "label": self.label, "model_version": self.model_version,
                 "review": self.review, "out_of_scope": self.out_of_scope}
        out = {k: v for k, v in found.items() if v is not None}
        if self.label is not None or self.min_pct is not None:
            if out.get("out_of_scope"):
                out["label"] = ""  # out of scope has no class or confidence: nothing matches
            out["out_of_scope"] = False
        if self.user is not None:
            out.setdefault("owner_id", self.user)
            if out["owner_id"] != self.user:
                out["owner_id"] = -1  # a clinician asking for someone else's: nothing
        return out

    @property
    def filter_dims(self) -> set[str]:
        dims = set(self.filters) | ({"conf_pct"} if self.min_pct is not None else set())
        return dims | ({"label", "out_of_scope", "review", "reviewed_label"} if self.headline_label else set())

    def headline_q(self) -> Q:
        """The class a scan stands at, over rollup dimensions: its reviewer's, or, unreviewed, the model's
        in scope (the same rule as predictions() applies to rows)."""
        if not self.headline_label:
            return Q()
        return Q(reviewed_label=self.headline_label) | Q(
            review=cubes.UNREVIEWED, out_of_scope=False, label=self.headline_label)


def day_start(day: date, tz: tzinfo) -> datetime:
    """The first whole UTC hour at or after midnight of `day` in zone tz."""
    instant = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    whole = instant.replace(minute=0, second=0, microsecond=0)
    return whole if whole == instant else whole + HOUR


def _is_utc(tz: tzinfo) -> bool:
    return getattr(tz, "key", None) in ("UTC", "Etc/UTC") or tz is UTC


def _zone_name(tz: tzinfo) -> str:
    """The zone's name as PostgreSQL's AT TIME ZONE takes it."""
    return "UTC" if _is_utc(tz) else tz.key


#  --- reading the rollups ---------------------------------------------------------------------------

def _period(period: str | None, tz: tzinfo):
    if period == "day":
        return TruncDate("bucket", tzinfo=tz)
    if period == "week":
        return TruncWeek("bucket", tzinfo=tz, output_field=DateField())
    return None


def _smallest_cubes(scope: Scope, need: set[str], timing: bool,
                    deciles: bool = False) -> dict[str, cubes.Cube] | None:
    """Per grain, the first (smallest) rollup holding every dimension in `need`; None where only the rows
    can answer the scope (a text search, chosen scans, a minimum confidence between whole per cents)."""
    whole = scope.min_pct is None or float(scope.min_pct).is_integer()
    if scope.q or scope.scans is not None or not whole:
        return None
    #  A minimum confidence in whole tens, where the figure does not group by confidence (`deciles`), is
    #  answered by deciles as well.
    tens = deciles and "conf_pct" in need and scope.min_pct is not None and float(scope.min_pct) % 10 == 0
    by_tens = (need - {"conf_pct"}) | {cubes.CONF_DEC} if tens else None
    out: dict[str, cubes.Cube] = {}
    for c in cubes.CUBES:
        if c.timing == timing and (need <= set(c.dims) or (by_tens is not None and by_tens <= set(c.dims))):
            out.setdefault(c.grain, c)
    return out


def _min_confidence(scope: Scope, model) -> tuple[str, int] | None:
    """The rollup's column and lowest value for the scope's minimum confidence: its 1 % bin, or its
    decile for a whole ten (_smallest_cubes takes a rollup of deciles only then)."""
    if scope.min_pct is None:
        return None
    if "conf_pct" in _CUBE_OF[model].dims:
        return "conf_pct", int(scope.min_pct)
    return cubes.CONF_DEC, int(scope.min_pct) // 10


def _plan(scope: Scope, need: set[str], timing: bool, period: str | None,
          whole_days: bool = True, deciles: bool = False) -> list[tuple[type, tuple, int]] | None:
    """[(rollup model, bucket condition, sign)], or None where only the rows can answer. A bucket condition
    is ("ranges", [(from, to), ...]) (either end None: open), or ("boundary", from, last hour, zone name):
    the boundary hours (BOUNDARY_HOURS) from the hour `from` to the hour `last`. A sign of -1 takes the
    rows out (the hours of a whole day that the range does not cover: _with_whole_days)."""
    smallest = _smallest_cubes(scope, need, timing, deciles)
    if smallest is None:
        return None
    #  Per day in a zone other than UTC: hours only; per day or week in UTC: days and hours.
    usable = ("hour",) if period and not _is_utc(scope.tz) else ("hour", "day") if period else cubes.GRAINS
    best = {g: smallest.get(g) for g in usable}
    grains = [g for g in reversed(cubes.GRAINS) if best.get(g)]
    if "hour" not in grains:
        return None
    pieces = _split(scope.start, scope.end, grains)
    where: dict[tuple[str, int], list] = {}
    for grain, lo, hi, sign in _with_whole_days(pieces) if whole_days and "day" in grains else _signed(pieces):
        where.setdefault((grain, sign), []).append((lo, hi))
    return [(ROLLUPS[best[g].name], ("ranges", ranges), sign) for (g, sign), ranges in where.items()]


#  An edge of a date range that covers most of a UTC day (a viewer east of UTC who asks up to a date
#  stops at 22:00 or 23:00 UTC) is read as the whole day from a day rollup less the hours it leaves out,
#  from an hour rollup: a day row and an hour's rows per group instead of up to 23 hours' rows. A day
#  row stands for about six hours' worth of hour rows (demo data at 10 M), so from 16 hours on this
#  reads fewer. The usage chart filtered by a month in Paris at 10 M: its last day's 23 hours were
#  14,207 rows of hour_full (6 ms of its query).
WHOLE_DAY_FROM_HOURS = 16


def _signed(pieces: list[tuple]) -> list[tuple]:
    return [(*piece, 1) for piece in pieces]


def _with_whole_days(pieces: list[tuple]) -> list[tuple]:
    """_split's pieces as (grain, from, to, sign): an hour piece of WHOLE_DAY_FROM_HOURS or more within one
    UTC day becomes that day (+1) less the day's hours outside the piece (-1). Exact for counts and sums;
    not for the first and last bucket of a group (`span` does not use it)."""
    out = []
    for grain, lo, hi in pieces:
        if (grain == "hour" and lo and hi and hi - lo >= WHOLE_DAY_FROM_HOURS * HOUR
                and _floor(lo, "day") == _floor(hi - HOUR, "day")):
            day = _floor(lo, "day")
            out.append(("day", day, day + DAY, 1))
            out += [("hour", a, b, -1) for a, b in ((day, lo), (hi, day + DAY)) if a < b]
        else:
            out.append((grain, lo, hi, 1))
    return out


def _floor(t: datetime, grain: str) -> datetime:
    return t.replace(day=1, hour=0) if grain == "month" else t.replace(hour=0) if grain == "day" else t


def _ceil(t: datetime, grain: str) -> datetime:
    f = _floor(t, grain)
    if f == t:
        return t
    return (f + timedelta(days=32)).replace(day=1) if grain == "month" else f + DAY


def _split(lo: datetime | None, hi: datetime | None, grains: list[str]) -> list[tuple[str, datetime | None, datetime | None]]:
    """[lo, hi) (either end open) as (grain, from, to) pieces: whole months, then whole days, then hours
    at the edges, each of the coarsest grain available (`grains`, coarsest first)."""
    grain = grains[0]
    if grain == "hour":
        return [(grain, lo, hi)]
    a = _ceil(lo, grain) if lo else None
    b = _floor(hi, grain) if hi else None
    if a and b and a >= b:
        return _split(lo, hi, grains[1:])
    out = [(grain, a, b)]
    if lo and a != lo:
        out += _split(lo, a, grains[1:])
    if hi and b != hi:
        out += _split(b, hi, grains[1:])
    return out


def grouped(scope: Scope, dims: tuple[str, ...], period: str | None = None, timing: bool = False,
            span: bool = False) -> list[dict]:
    """Counts (`n`, and `conf_micro`: confidence summed in millionths, except for timing) per value of
    `dims` (and per `period`, a day or week in the viewer's zone) over the scope, in one query.
    `span` adds the first and last bucket (hour or day, UTC) of each group."""
    keys = (*dims, *(("period",) if period else ()))
    written = None if span else _rollup_sql(scope, dims, period, timing)
    if written is not None:
        if len(written) == 1:  # one rollup: every group comes once already
            return [r for r in _fetch_sql(*written[0]) if r["n"]]
        return _summed(*_union(written), keys, timing)
    parts = _rollup_parts(scope, dims, period, timing, span)
    if parts is None:
        return _grouped_rows(scope, dims, period, timing, span)
    if len(parts) == 1:  # one rollup: every group comes once already
        return [r for r in (list(parts[0]) if span else _fetch(parts[0])) if r["n"]]
    rows = parts[0].union(*parts[1:], all=True)
    if span:
        return _merge(list(rows), keys)
    return _summed(*rows.query.sql_with_params(), keys, timing)


def _summed(sql: str, params, keys: tuple[str, ...], timing: bool) -> list[dict]:
    """A group that comes once per rollup it spans (a day row and its boundary hours, months and the
    days at a range's edges) summed by the database: fewer rows to convert than to add here. The sums
    come back as 8-byte integers (PostgreSQL's SUM of a bigint is a numeric, which the driver turns into
    a Decimal per value: a millisecond per thousand rows)."""
    sums = f"{SUM_N} AS n" + ("" if timing else ", CAST(SUM(conf_micro) AS BIGINT) AS conf_micro")
    if not keys:
        return [r for r in _fetch_sql(f"SELECT {sums} FROM ({sql}) AS parts", params) if r["n"]]
    cols = ", ".join(connection.ops.quote_name(k) for k in keys)
    return _fetch_sql(f"SELECT {cols}, {sums} FROM ({sql}) AS parts GROUP BY {cols} HAVING SUM(n) <> 0", params)


def grouped_sql(scope: Scope, dims: tuple[str, ...], period: str | None = None) -> tuple[str, list] | None:
    """grouped()'s rollup query as SQL and parameters, counts (`n`) only, for a query that reads it as a
    subquery (a group may come once per rollup it spans: sum again by the same columns); None where no
    rollup serves it."""
    written = _rollup_sql(scope, dims, period, False, confidence=False)
    if written is not None:
        return _union(written)
    parts = _rollup_parts(scope, dims, period, False, False, confidence=False)
    if parts is None:
        return None
    qs = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:], all=True)
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


#  A rollup row's count as a 4-byte integer: PostgreSQL sums those into a bigint, where a sum of bigints
#  is a numeric, 30-40 % slower to add and group (the usage chart's query: 9 -> 6.6 ms at 1 M). One row
#  counts the predictions of one bucket and group: far fewer than 2**31.
_COUNT = Sum(Cast("n", IntegerField()))
#  The parts' counts summed again, as an 8-byte integer (see _summed).
SUM_N = "CAST(SUM(n) AS BIGINT)"
#  The counts of the parts' rows that meet a condition (SQL over their columns), as SUM_N.
SUM_WHEN = "CAST(SUM(CASE WHEN {condition} THEN n ELSE 0 END) AS BIGINT)"


def _full_plan(scope: Scope, dims: tuple[str, ...], period: str | None, timing: bool,
               whole_days: bool = True) -> list[tuple] | None:
    """[(rollup model, bucket condition, zone of the period, sign)], or None when only the rows can answer.
    `whole_days` False reads the hours at a range's edges as they are (see _with_whole_days)."""
    need = set(dims) | scope.filter_dims | ({"ms_bin"} if timing else set())
    deciles = "conf_pct" not in dims
    plan = _local_days(scope, need, timing, period, whole_days, deciles)
    if plan is not None:
        return plan
    plan = _plan(scope, need, timing, period, whole_days, deciles)
    return None if plan is None else [(model, bounds, scope.tz, sign) for model, bounds, sign in plan]


#  The same queries written directly as SQL, on PostgreSQL: building and compiling a queryset per rollup
#  (a page reads 10-20) cost 10 ms of a 55 ms dashboard, more than most of its queries.
_PG_PERIOD = {"day": "({col} AT TIME ZONE %s)::date", "week": "DATE_TRUNC('week', {col} AT TIME ZONE %s)::date"}


def _rollup_sql(scope: Scope, dims: tuple[str, ...], period: str | None, timing: bool,
                confidence: bool = True) -> list[tuple[str, list]] | None:
    """_rollup_parts' queries (without `span`) as SQL and parameters; None where the ORM writes them (not
    PostgreSQL, a zone without a name) or only the rows can answer."""
    if connection.vendor != "postgresql" or (period and not _is_utc(scope.tz) and not getattr(scope.tz, "key", None)):
        return None
    plan = _full_plan(scope, dims, period, timing)
    if plan is None:
        return None
    quote = connection.ops.quote_name
    where, where_params = [], []
    for name, value in scope.filters.items():
        where.append(f"{quote(name)} = %s")
        where_params.append(value)
    if scope.headline_label:
        where.append('("reviewed_label" = %s OR ("review" = %s AND NOT "out_of_scope" AND "label" = %s))')
        where_params += [scope.headline_label, cubes.UNREVIEWED, scope.headline_label]
    parts = []
    plan = list(plan)
    base, base_params = where, where_params
    while plan:
        model, bounds, tz, sign = plan.pop(0)
        table = quote(model._meta.db_table)
        at_least = _min_confidence(scope, model)
        where = [*base, *([f"{quote(at_least[0])} >= %s"] if at_least else [])]
        where_params = [*base_params, *([at_least[1]] if at_least else [])]
        cols = [f"{table}.{quote(d)} AS {quote(d)}" for d in dims]
        if period and bounds[0] == "boundary" and plan and plan[0][:2] == (model, bounds):
            #  The boundary hours taken from their UTC day and given to the zone's day: one read of them
            #  that yields each row twice (signs -1 and +1), not two reads.
            (_, _, to_tz, to_sign), plan = plan[0], plan[1:]
            moved = ", ".join(f"({s}, {_PG_PERIOD[period].format(col=f'{table}.bucket')})" for s in (sign, to_sign))
            cols.append('m."period" AS "period"')
            cols.append(f'SUM(m."sign" * {table}."n"::integer) AS "n"')
            if confidence and not timing:
                cols.append(f'SUM(m."sign" * {table}."conf_micro") AS "conf_micro"')
            sql = (f"SELECT {', '.join(cols)} FROM {table} CROSS JOIN LATERAL (VALUES {moved}) AS m(\"sign\", \"period\")"
                   f" WHERE {' AND '.join([BOUNDARY_HOURS.format(table=table), *where])}"
                   " GROUP BY " + ", ".join(str(i) for i in range(1, len(dims) + 2)))
            parts.append((sql, [_zone_name(tz), _zone_name(to_tz), *bounds[1:], *where_params]))
            continue
        select_params = []
        if period:
            cols.append(_PG_PERIOD[period].format(col=f"{table}.\"bucket\"") + ' AS "period"')
            select_params.append(_zone_name(tz))
        minus = "-" if sign < 0 else ""
        rows_are_groups = _rows_are_groups(model, dims, period)
        total = f"{minus}{{}}" if rows_are_groups else f"{minus}SUM({{}})"
        cols.append(total.format(f'{table}."n"::integer') + ' AS "n"')
        if confidence and not timing:
            cols.append(total.format(f'{table}."conf_micro"') + ' AS "conf_micro"')
        if bounds[0] == "boundary":
            conds, bound_params = [BOUNDARY_HOURS.format(table=table)], list(bounds[1:])
        else:
            ors, bound_params = [], []
            for lo, hi in bounds[1]:
                ends = [*([f"{table}.\"bucket\" >= %s"] if lo else []), *([f"{table}.\"bucket\" < %s"] if hi else [])]
                ors.append(" AND ".join(ends) or "TRUE")
                bound_params += [t for t in (lo, hi) if t]
            conds = ["(" + " OR ".join(f"({o})" for o in ors) + ")"]
        sql = f"SELECT {', '.join(cols)} FROM {table} WHERE {' AND '.join([*conds, *where])}"
        keys = len(dims) + (1 if period else 0)
        if keys and not rows_are_groups:
            sql += " GROUP BY " + ", ".join(str(i) for i in range(1, keys + 1))
        parts.append((sql, [*select_params, *bound_params, *where_params]))
    return parts


_CUBE_OF = {ROLLUPS[c.name]: c for c in cubes.CUBES}


def _rows_are_groups(model, dims: tuple[str, ...], period: str | None) -> bool:
    """Whether each row a day rollup yields per day is a group of its own (the figure groups by every
    dimension the rollup has, and one bucket is one day in any zone): then its rows are read as they
    are, not hashed into groups they already are. The usage chart by day in Paris at 1 M demo
    predictions (6,518 rows of day_usage): 13.6 -> 6.6 ms for its query."""
    cube = _CUBE_OF[model]
    return period == "day" and cube.grain == "day" and set(cube.dims) <= set(dims)


def _union(parts: list[tuple[str, list]]) -> tuple[str, list]:
    if len(parts) == 1:
        return parts[0]
    return " UNION ALL ".join(f"({sql})" for sql, _ in parts), [p for _, params in parts for p in params]


def _rollup_parts(scope: Scope, dims: tuple[str, ...], period: str | None, timing: bool,
                  span: bool, confidence: bool = True) -> list[QuerySet] | None:
    """One grouped query per rollup of the plan, or None when only the rows can answer. `confidence`
    False leaves out the confidence sum (a query that only counts)."""
    plan = _full_plan(scope, dims, period, timing, whole_days=not span)
    if plan is None:
        return None
    parts = []
    for model, bounds, tz, sign in plan:
        measures = {"n": _COUNT} if timing or not confidence else {"n": _COUNT, "conf_micro": Sum("conf_micro")}
        if sign < 0:
            measures = {name: total * Value(-1) for name, total in measures.items()}
        if span:
            measures.update(first=Min("bucket"), last=Max("bucket"))
        keys = {"period": _period(period, tz)} if period else {}
        qs = model.objects.filter(_bounds_q(bounds, model), scope.headline_q(), **scope.filters)
        at_least = _min_confidence(scope, model)
        if at_least:
            qs = qs.filter(**{f"{at_least[0]}__gte": at_least[1]})
        parts.append(qs.values(*dims, **keys).annotate(**measures).order_by())
    return parts


#  The hours whose day in the viewer's zone is not their UTC day (a few an evening or a morning: as many
#  as the zone's offset has hours), in [lo, hi], or from the first to the last hour the rollup holds.
MOST_BOUNDARY_HOURS = 6
#  `= ANY(ARRAY(...))`, not `IN (...)`: the list is computed once and the hours read by the bucket index.
#  They lie between each UTC midnight and the zone's midnight of the same date, so only those few hours
#  (an hour wider on each side, for rounding and clock changes) are tested, not every hour of the range
#  (at 1 M demo predictions over six months: about 900 hours instead of 4,323). With the two reads of
#  them made one (_rollup_sql), the usage query by day in Paris spent 1.4 ms on them instead of about 8.
#  Parameters: lo, hi (either None: the rollup's first or last hour), the zone's name.
BOUNDARY_HOURS = """{table}.bucket = ANY(ARRAY(SELECT g.h
FROM (SELECT COALESCE(%s::timestamptz, (SELECT MIN(bucket) FROM {table})) AS lo,
             COALESCE(%s::timestamptz, (SELECT MAX(bucket) FROM {table})) AS hi, %s::text AS zone) AS b
CROSS JOIN LATERAL generate_series(((b.lo AT TIME ZONE 'UTC')::date - 1)::timestamp,
                                   ((b.hi AT TIME ZONE 'UTC')::date + 1)::timestamp, interval '1 day') AS e(day)
CROSS JOIN LATERAL (SELECT e.day AT TIME ZONE 'UTC' AS utc, e.day AT TIME ZONE b.zone AS zoned) AS m
CROSS JOIN LATERAL generate_series(date_trunc('hour', LEAST(m.utc, m.zoned), 'UTC') - interval '1 hour',
                                   GREATEST(m.utc, m.zoned) + interval '1 hour', interval '1 hour') AS g(h)
WHERE g.h BETWEEN b.lo AND b.hi AND (g.h AT TIME ZONE b.zone)::date <> (g.h AT TIME ZONE 'UTC')::date))"""


def _local_days(scope: Scope, need: set[str], timing: bool, period: str | None,
                whole_days: bool = True, deciles: bool = False) -> list[tuple] | None:
    """Per day or week in a zone other than UTC, from day rollups, not 24 hour rows a day: a UTC day's
    row counts for the viewer's day of the same date, then each boundary hour (one whose day in the
    zone is another) is taken back from its UTC date and given to its own day; the hours at the ends
    of a date range come from the hour rollup. [(rollup, bucket condition, zone of the period, sign)],
    or None where this does not apply (UTC, SQLite, a zone without a name, no day rollup)."""
    name = getattr(scope.tz, "key", None)
    if not period or _is_utc(scope.tz) or not name or connection.vendor != "postgresql":
        return None
    #  Far from UTC most of a day's hours are boundary hours, read twice: hours alone are cheaper there.
    if abs(datetime.now(scope.tz).utcoffset()) > MOST_BOUNDARY_HOURS * HOUR:
        return None
    smallest = _smallest_cubes(scope, need, timing, deciles) or {}
    day, hour = smallest.get("day"), smallest.get("hour")
    if day is None or hour is None:
        return None
    pieces = _split(scope.start, scope.end, ["day", "hour"])
    pieces = _with_whole_days(pieces) if whole_days else _signed(pieces)
    #  One range of whole days (with the days an edge made whole, which adjoin it).
    days = [(lo, hi) for grain, lo, hi, _ in pieces if grain == "day"]
    if not days:
        return None
    lo = None if any(d[0] is None for d in days) else min(d[0] for d in days)
    hi = None if any(d[1] is None for d in days) else max(d[1] for d in days)
    day_model, hour_model = ROLLUPS[day.name], ROLLUPS[hour.name]
    boundary = ("boundary", lo, hi - HOUR if hi else None, name)
    plan = [(day_model, ("ranges", [(lo, hi)]), UTC, 1), (hour_model, boundary, UTC, -1),
            (hour_model, boundary, scope.tz, 1)]
    for grain, a, b, sign in pieces:
        if grain == "hour":
            plan.append((hour_model, ("ranges", [(a, b)]), scope.tz, sign))
    return plan


def _bounds_q(bounds: tuple, model) -> Q | RawSQL:
    """A plan's bucket condition for the ORM."""
    if bounds[0] == "boundary":
        table = connection.ops.quote_name(model._meta.db_table)
        return RawSQL(BOUNDARY_HOURS.format(table=table), list(bounds[1:]), output_field=BooleanField())
    q = Q()
    for lo, hi in bounds[1]:
        q |= Q(**({"bucket__gte": lo} if lo else {}), **({"bucket__lt": hi} if hi else {}))
    return q


def _fetch(qs: QuerySet) -> list[dict]:
    """A grouped rollup query's rows as dicts, without the ORM's per-value converters, which cost more
    than the query on the usage chart (a row per user and day: thousands). What they did is done here:
    sums are integers (PostgreSQL's SUM of a bigint is a numeric), a day or week is a date (see as_date)
    and out-of-scope a bool (SQLite: 0 or 1). First and last buckets (`span`) take the ORM's way."""
    return _fetch_sql(*qs.query.sql_with_params())


def _fetch_sql(sql: str, params) -> list[dict]:
    """_fetch's work for a query already written as SQL."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        raw = cursor.fetchall()
    convert = {"n": int, "conf_micro": int, "out_of_scope": bool, "period": as_date}
    steps = [(i, convert[name]) for i, name in enumerate(names) if name in convert]
    out = []
    for values in raw:
        row = dict(zip(names, values, strict=True))
        for i, step in steps:
            if values[i] is not None:
                row[names[i]] = step(values[i])
        out.append(row)
    return out


def as_date(value) -> date:
    """A day or week start as a date: PostgreSQL's week comes back as a timestamp, SQLite's as text."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value.date() if isinstance(value, datetime) else value


def _merge(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    """Rows of the same group (from a day rollup and the hours at its edges) added together."""
    out: dict[tuple, dict] = {}
    for r in rows:
        k = tuple(r[key] for key in keys)
        if k not in out:
            out[k] = dict(r)
            continue
        o = out[k]
        for m in ("n", "conf_micro"):
            if m in r:
                o[m] += r[m]
        if "first" in r:
            o["first"], o["last"] = min(o["first"], r["first"]), max(o["last"], r["last"])
    return [r for r in out.values() if r["n"]]


#  --- reading the rows (the exact fallback) ---------------------------------------------------------

def _sql(name: str) -> RawSQL:
    return RawSQL(cubes.expressions(connection.vendor, cubes.PREDICTIONS)[name], [])


def predictions(scope: Scope) -> QuerySet[Prediction]:
    """The scope's predictions as rows (exports, exact first and last, and the fallback figures)."""
    preds = Prediction.objects.order_by()
    f = scope.filters
    if "owner_id" in f:
        preds = preds.filter(owner_id=f["owner_id"])
    if scope.start:
        preds = preds.filter(created__gte=scope.start)
    if scope.end:
        preds = preds.filter(created__lt=scope.end)
    for name in ("label", "model_version", "out_of_scope"):
        if name in f:
            preds = preds.filter(**{name: f[name]})
    if scope.min_pct is not None:
        preds = preds.filter(confidence__gte=float(scope.min_pct) / 100)
    if "review" in f or scope.headline_label:
        #  The current review by one LEFT JOIN (at most one per prediction).
        preds = preds.alias(current_review=FilteredRelation("review", condition=Q(review__current=True)))
    if "review" in f:
        preds = preds.alias(review_status=Coalesce(F("current_review__status"), Value(cubes.UNREVIEWED)))
        preds = preds.filter(review_status=f["review"])
    if scope.headline_label:
        preds = preds.filter(Q(current_review__label=scope.headline_label) | Q(
            current_review__isnull=True, out_of_scope=False, label=scope.headline_label))
    if scope.q:
        preds = preds.filter(Q(scan__original_name__icontains=scope.q) | Q(scan__patient_ref__icontains=scope.q))
    if scope.scans is not None:
        preds = preds.filter(scan__in=scope.scans.order_by().values("pk"))
    return preds


def _current(column: str, default: str):
    """The current review's `column` for each prediction, or `default` when nobody has reviewed it."""
    current = Review.objects.filter(prediction=OuterRef("pk"), current=True).values(column)[:1]
    return Coalesce(Subquery(current), Value(default))


def _grouped_rows(scope: Scope, dims: tuple[str, ...], period: str | None, timing: bool, span: bool) -> list[dict]:
    exprs = {"conf_pct": lambda: _sql("conf_pct"), "ms_bin": lambda: _sql("ms_bin"),
             "review": lambda: _current("status", cubes.UNREVIEWED), "reviewed_label": lambda: _current("label", "")}
    named = {d: exprs[d]() for d in dims if d in exprs}
    plain = [d for d in dims if d not in exprs]
    if period:
        named["bucket"] = TruncHour("created", tzinfo=UTC)
    measures = {"n": Sum(Value(1))} if timing else {"n": Sum(Value(1)), "conf_micro": Sum(_sql("conf_micro"))}
    if span:
        measures.update(first=Min("created"), last=Max("created"))
    rows = list(predictions(scope).values(*plain, **named).annotate(**measures))
    if period:
        for r in rows:
            local = r.pop("bucket").astimezone(scope.tz).date()
            r["period"] = local - timedelta(days=local.weekday()) if period == "week" else local
        rows = _merge(rows, (*dims, "period"))
    return rows


#  --- figures from bins -----------------------------------------------------------------------------

def percentile(counts: dict[int, int], fraction: float, value) -> float | None:
    """percentile_cont from binned values ({bin: count}): each value taken as value(bin), then the
    same linear interpolation between the two neighbouring ranks. Off by at most a bin's half-width."""
    total = sum(counts.values())
    if not total:
        return None
    pos = fraction * (total - 1)
    lo = math.floor(pos)
    found, seen = [], 0
    for b in sorted(counts):
        seen += counts[b]
        while len(found) < 2 and seen > lo + len(found):
            found.append(value(b))
        if len(found) == 2:
            break
    if len(found) == 1:
        return found[0]
    return found[0] + (found[1] - found[0]) * (pos - lo)
