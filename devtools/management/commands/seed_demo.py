"""Fills the database with clearly marked demo history: users demo-*, files DEMO-*.png, months
of working-hours timestamps, every class, a spread of confidences, two model versions, and a few
reviews. On PostgreSQL rows go in through COPY, generated with numpy a batch at a time, with the
triggers off (all of them for a superuser, the key checks included; else the rollups'); the rollups are then rebuilt from the rows in one grouped pass, in the same
transaction (so they stay exact, and nothing half-loaded is ever visible). On SQLite it inserts
through the ORM (slow, but it works, and the triggers keep the rollups)."""

import io
import math
import random
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from PIL import Image

from analytics import cubes
from analytics.rebuild import analyze, rebuild
from ml.infer import CLASSES
from scans.models import Prediction, Review, Scan

DEMO_IMAGE = "demo/DEMO-slice.png"
PASSWORD = "demo-password-not-secret"
CLASS_MIX = {"glioma": 0.3, "meningioma": 0.27, "notumor": 0.28, "pituitary": 0.15}
VERSIONS = [("demo-cnn-1.0", 62.0), ("demo-cnn-1.1", 41.0)]  # (name, typical inference ms)
REVIEWED = 0.02  # share of scans a demo reviewer confirmed or corrected
BATCH = 100_000


class Command(BaseCommand):
    help = "Adds N demo scans with predictions, spread over U demo users and --days days (demo-* users)."

    def add_arguments(self, parser):
        parser.add_argument("--scans", type=int, default=1000)
        parser.add_argument("--users", type=int, default=8)
        parser.add_argument("--days", type=int, default=180)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--clear", action="store_true", help="first delete every earlier demo scan")

    _hashed: str | None = None

    def handle(self, *args, scans, users, days, seed, clear, **options):
        started = time.monotonic()
        if scans < 0 or users < 1 or days < 1:
            raise CommandError("--scans must be 0 or more, --users and --days at least 1")
        if clear:
            gone, _ = Scan.objects.filter(owner__username__startswith="demo-").delete()
            self.stdout.write(f"Deleted {gone} earlier demo rows.")
        owners = self._users(users)
        reviewer = self._member("demo-reviewer", "reviewer")
        image = self._image()
        if connection.vendor == "postgresql":
            self._copy(scans, owners, reviewer, image, days, seed)
        else:
            self._orm(scans, owners, reviewer, image, days, seed)
            analyze()
        self.stdout.write(self.style.SUCCESS(
            f"Added {scans:,} demo scans for {len(owners)} demo users in {time.monotonic() - started:.1f} s."))

    def _bar(self, done: int, total: int, what: str, started: float) -> None:
        if not sys.stdout.isatty() and total < 10 * BATCH and done < total:
            return
        pct = 100 * done // max(total, 1)
        self.stdout.write(f"\r[{'#' * (pct // 4):<25}] {done:,}/{total:,} {what} ({pct}%) "
                          f"{time.monotonic() - started:6.1f} s", ending="")
        self.stdout.flush()

    # --- PostgreSQL: COPY ---------------------------------------------------------------------------

    def _copy(self, total: int, owners: list[User], reviewer: User, image: str, days: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        now = timezone.now()
        stamps = np.sort(_stamps(rng, now, days, total))
        owner_ids = np.array([u.pk for u in owners])
        newer_from = _micros(now - timedelta(days=days / 3))
        started = time.monotonic()
        with transaction.atomic(), connection.cursor() as cur:
            replica = _replica(cur)
            if not replica:
                #  A table's triggers can only be switched with none of its key checks pending.
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for table, trigger in cubes.postgresql_triggers():
                    cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
            scan_id = _reserve(cur, Scan, total)
            pred_id = _reserve(cur, Prediction, total)
            done = 0
            while done < total:
                n = min(BATCH, total - done)
                ids = np.arange(scan_id + done, scan_id + done + n)
                when = stamps[done:done + n]
                owner = owner_ids[np.minimum(np.floor(rng.pareto(1.2, n)).astype(int), len(owners) - 1)]
                created = _iso(when)
                self._write(cur, Scan, _scan_rows(rng, ids, owner, created, image))
                preds, labels = _prediction_rows(rng, pred_id + done, ids, owner, created, when >= newer_from)
                self._write(cur, Prediction, preds)
                self._write(cur, Review, _review_rows(rng, ids, pred_id + done, labels, created, reviewer.pk))
                done += n
                self._bar(done, total, "scans and predictions", started)
            self.stdout.write("")
            if replica:
                cur.execute("SET LOCAL session_replication_role = origin")
            else:
                cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
                for table, trigger in cubes.postgresql_triggers():
                    cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
            #  Statistics once, below, for the rollups and the rows together.
            rebuild(lambda i, n, name, s: self._bar(i, n, f"rollup steps ({name})", started), statistics=False)
            self.stdout.write("")
        #  The scans too: without their statistics the planner took 10 M scans for 1.35 M and joined them
        #  to a date range's predictions by reading every scan (an export of 1 M rows: 10 s, not 3 s).
        analyze(Scan._meta.db_table)

    def _write(self, cur, model, rows: tuple[list[str], list[list[str]]]) -> None:
        """COPY one batch: (columns, one list of text values per column)."""
        columns, values = rows
        if not values or not values[0]:
            return
        data = "\n".join(map("\t".join, zip(*values, strict=True))) + "\n"
        with cur.cursor.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(data.encode())

    # --- SQLite and others: the ORM ------------------------------------------------------------------

    def _orm(self, total: int, owners: list[User], reviewer: User, image: str, days: int, seed: int) -> None:
        rng = random.Random(seed)
        now = timezone.now()
        stamps = sorted(_stamp(rng, now, days) for _ in range(total))
        started, made = time.monotonic(), 0
        while made < total:
            n = min(5000, total - made)
            with transaction.atomic():
                batch = [_orm_scan(rng, owners, image, created) for created in stamps[made:made + n]]
                Scan.objects.bulk_create(batch)
                preds = Prediction.objects.bulk_create([_orm_prediction(rng, s, now, days) for s in batch])
                Review.objects.bulk_create([_orm_review(rng, p, reviewer) for p in preds if rng.random() < REVIEWED])
            made += n
            self._bar(made, total, "scans", started)
        self.stdout.write("")

    # --- users and the one picture ------------------------------------------------------------------

    def _member(self, username: str, group: str) -> User:
        user, made = User.objects.get_or_create(username=username)
        if made:
            #  One hash for every demo account: Django's hasher takes about half a second per call on
            #  purpose, which for 41 accounts was 19 s of a 1 M seed (more than the rows' rollups).
            if self._hashed is None:
                self._hashed = make_password(PASSWORD)
            user.password = self._hashed
            user.save(update_fields=["password"])
            user.groups.add(Group.objects.get_or_create(name=group)[0])
        return user

    def _users(self, count: int) -> list[User]:
        owners = [self._member(f"demo-clinician-{i:02d}", "clinician") for i in range(1, count + 1)]
        self._member("demo-researcher", "researcher")
        return owners

    def _image(self) -> str:
        """One small generated picture that every demo scan points at, stored once."""
        if not default_storage.exists(DEMO_IMAGE):
            buf = io.BytesIO()
            Image.radial_gradient("L").resize((128, 128)).save(buf, "PNG")
            default_storage.save(DEMO_IMAGE, ContentFile(buf.getvalue()))
        return DEMO_IMAGE


#  --- generating a batch of rows with numpy -------------------------------------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(t: datetime) -> int:
    return (t - EPOCH) // timedelta(microseconds=1)


def _stamps(rng, now: datetime, days: int, n: int) -> np.ndarray:
    """Weekdays in working hours (07-18 UTC), as microseconds since 1970, none after now."""
    today = _micros(now.replace(hour=0, minute=0, second=0, microsecond=0))
    day = today - rng.integers(0, days, n) * 86_400_000_000
    weekday = ((day // 86_400_000_000) + 3) % 7  # 1970-01-01 was a Thursday
    day -= np.where((weekday >= 5) & (rng.random(n) < 0.85), (weekday - 4) * 86_400_000_000, 0)
    stamp = day + rng.integers(7 * 3600, 19 * 3600, n) * 1_000_000 + rng.integers(0, 1_000_000, n)
    return np.where(stamp > _micros(now), stamp - 86_400_000_000, stamp)


def _iso(micros: np.ndarray) -> list[str]:
    return [s + "+00" for s in micros.astype("datetime64[us]").astype(str).tolist()]


def _text(values) -> list[str]:
    return np.asarray(values).astype(str).tolist()


def _decimal(values: np.ndarray, digits: int) -> list[str]:
    """Non-negative numbers as fixed-point text: far quicker than the shortest float repr."""
    scaled = np.rint(values * 10**digits).astype(np.int64)
    whole, frac = np.divmod(scaled, 10**digits)
    padded = np.strings.slice((frac + 10**digits).astype(str), 1, None)  # 10**digits + frac, less its "1"
    return np.strings.add(np.strings.add(whole.astype(str), "."), padded).tolist()


def _defaults(model, given: dict) -> tuple[list[str], list[list[str]]]:
    """Every concrete column: the given ones, the rest their field's default (as COPY text)."""
    n = len(next(iter(given.values())))
    columns, values = [], []
    for f in model._meta.concrete_fields:
        columns.append(f.column)
        if f.column in given:
            values.append(given[f.column])
        else:
            default = f.get_default()
            text = ("\\N" if default is None else "{}" if isinstance(default, dict)
                    else "\\\\x" if isinstance(default, bytes) else str(default))
            values.append([text] * n)
    return columns, values


def _scan_rows(rng, ids: np.ndarray, owner: np.ndarray, created: list[str], image: str):
    n = len(ids)
    ids_text = _text(ids)
    return _defaults(Scan, {
        "id": ids_text, "owner_id": _text(owner), "created": created,
        "original_name": [f"DEMO-{i}.png" for i in ids_text], "image": [image] * n,
        "sha256": [f"{i:0>64}" for i in ids_text], "format": ["PNG"] * n, "width": ["128"] * n,
        "height": ["128"] * n, "size_bytes": ["2048"] * n,
        "patient_ref": [f"DEMO-P{p:04d}" for p in rng.integers(1, 5000, n).tolist()],
        "note": ["Demo data (seed_demo)."] * n})


def _prediction_rows(rng, first_id: int, scan_ids: np.ndarray, owner: np.ndarray, created: list[str],
                     newer: np.ndarray):
    n = len(scan_ids)
    label = rng.choice(len(CLASSES), n, p=[CLASS_MIX[c] for c in CLASSES])
    oos = rng.random(n) < 0.03
    #  At least 0.4, and the others at most half of the rest each, so the label stays the most probable.
    confidence = 0.4 + np.where(oos, 0.4 * rng.beta(2, 3, n), 0.6 * rng.beta(6, 1.5, n))
    rest = rng.uniform(0.5, 1, (n, len(CLASSES) - 1))
    rest *= ((1 - confidence) / rest.sum(axis=1))[:, None]
    probs = np.empty((n, len(CLASSES)))
    rows = np.arange(n)
    for k in range(len(CLASSES)):
        #  The classes other than the label take the columns of `rest` in order.
        column = np.clip(np.where(k < label, k, k - 1), 0, len(CLASSES) - 2)
        probs[:, k] = np.where(label == k, confidence, rest[rows, column])
    typical = np.where(newer, VERSIONS[1][1], VERSIONS[0][1])
    ms = np.round(typical * np.exp(rng.normal(0, 0.3, n)), 1)
    given = {"id": _text(np.arange(first_id, first_id + n)), "scan_id": _text(scan_ids), "owner_id": _text(owner),
             "label": [CLASSES[i] for i in label.tolist()], "confidence": _decimal(confidence, 9),
             **{f"prob_{c}": _decimal(probs[:, k], 9) for k, c in enumerate(CLASSES)},
             "out_of_scope": ["t" if o else "f" for o in oos.tolist()],
             "out_of_scope_reason": ["Demo: not a brain MRI slice." if o else "" for o in oos.tolist()],
             "model_version": [VERSIONS[1][0] if v else VERSIONS[0][0] for v in newer.tolist()],
             "inference_ms": _decimal(ms, 1), "created": created}
    return _defaults(Prediction, given), label


def _review_rows(rng, scan_ids: np.ndarray, first_pred: int, label: np.ndarray, created: list[str], reviewer: int):
    """A few scans reviewed: mostly confirmed, some corrected to another class."""
    picked = np.flatnonzero(rng.random(len(scan_ids)) < REVIEWED)
    corrected = rng.random(len(picked)) < 0.15
    other = (label[picked] + rng.integers(1, len(CLASSES), len(picked))) % len(CLASSES)
    final = np.where(corrected, other, label[picked])
    if not len(picked):
        return [], []
    given = {"scan_id": _text(scan_ids[picked]), "prediction_id": _text(first_pred + picked),
             "reviewer_id": [str(reviewer)] * len(picked),
             "status": ["corrected" if c else "confirmed" for c in corrected.tolist()],
             "corrected_label": [CLASSES[f] if c else "" for f, c in zip(final.tolist(), corrected.tolist(), strict=True)],
             "label": [CLASSES[f] for f in final.tolist()], "current": ["t"] * len(picked),
             "comment": [""] * len(picked), "created": [created[i] for i in picked.tolist()]}
    columns, values = _defaults(Review, given)
    keep = [i for i, c in enumerate(columns) if c != "id"]
    return [columns[i] for i in keep], [values[i] for i in keep]


def _replica(cur) -> bool:
    """Every trigger off for this transaction (the rollups' and the key checks', which rows generated
    here with their own ids cannot fail), where the role may (a superuser); else False."""
    try:
        with transaction.atomic():
            cur.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        return False
    return True


def _reserve(cur, model, n: int) -> int:
    """The first of n ids taken from the table's sequence for rows written with their id."""
    table = model._meta.db_table
    cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    seq = cur.fetchone()[0]
    cur.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
    cur.execute(f"SELECT GREATEST(COALESCE(MAX(id), 0), (SELECT last_value FROM {seq})) + 1 FROM {table}")
    first = cur.fetchone()[0]
    cur.execute("SELECT setval(%s, %s)", [seq, first + n - 1 if n else first])
    return first


#  --- the ORM path ----------------------------------------------------------------------------------

def _stamp(rng: random.Random, now, days: int):
    day = now - timedelta(days=rng.randrange(days))
    while day.weekday() >= 5 and rng.random() < 0.85:
        day -= timedelta(days=1)
    created = day.replace(hour=rng.randint(7, 18), minute=rng.randrange(60), second=rng.randrange(60))
    return created - timedelta(days=1) if created > now else created


def _orm_scan(rng: random.Random, owners: list[User], image: str, created) -> Scan:
    owner = owners[min(int(rng.paretovariate(1.2)) - 1, len(owners) - 1)]
    token = f"{rng.getrandbits(64):016x}"
    return Scan(owner=owner, created=created, original_name=f"DEMO-{token}.png", image=image,
                sha256=f"{token:0>64}", format="PNG", width=128, height=128, size_bytes=2048,
                patient_ref=f"DEMO-P{rng.randrange(1, 5000):04d}", note="Demo data (seed_demo).")


def _orm_review(rng: random.Random, p: Prediction, reviewer: User) -> Review:
    """Mostly confirmed, some corrected to another class."""
    if rng.random() < 0.15:
        label = rng.choice([c for c in CLASSES if c != p.label])
        return Review(scan=p.scan, prediction=p, reviewer=reviewer, status="corrected", corrected_label=label,
                      label=label, created=p.created)
    return Review(scan=p.scan, prediction=p, reviewer=reviewer, status="confirmed", label=p.label, created=p.created)


def _orm_prediction(rng: random.Random, scan: Scan, now, days: int) -> Prediction:
    label = rng.choices(list(CLASS_MIX), weights=list(CLASS_MIX.values()))[0]
    out_of_scope = rng.random() < 0.03
    confidence = 0.4 + (0.4 * rng.betavariate(2, 3) if out_of_scope else 0.6 * rng.betavariate(6, 1.5))
    rest = [rng.uniform(0.5, 1) for _ in range(len(CLASSES) - 1)]
    others = iter(r * (1 - confidence) / sum(rest) for r in rest)
    probs = {c: confidence if c == label else next(others) for c in CLASSES}
    version, typical_ms = VERSIONS[1 if scan.created > now - timedelta(days=days / 3) else 0]
    return Prediction(scan=scan, owner_id=scan.owner_id, label=label, confidence=confidence, out_of_scope=out_of_scope,
                      out_of_scope_reason="Demo: not a brain MRI slice." if out_of_scope else "",
                      model_version=version, inference_ms=round(typical_ms * math.exp(rng.gauss(0, 0.3)), 1),
                      created=scan.created, **{f"prob_{c}": p for c, p in probs.items()})
