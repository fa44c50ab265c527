"""Fills the database with clearly marked demo history: users demo-*, files DEMO-*.png, months
of working-hours timestamps, every class, a spread of confidences, two model versions."""

import hashlib
import io
import math
import random
from datetime import timedelta

from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image

from ml.infer import CLASSES
from scans.models import Prediction, Scan

DEMO_IMAGE = "demo/DEMO-slice.png"
PASSWORD = "demo-password-not-secret"
CLASS_MIX = {"glioma": 0.3, "meningioma": 0.27, "notumor": 0.28, "pituitary": 0.15}
VERSIONS = [("demo-cnn-1.0", 62.0), ("demo-cnn-1.1", 41.0)]  # (name, typical inference ms)
BATCH = 5000


class Command(BaseCommand):
    help = "Adds N demo scans with predictions, spread over U demo users and --days days (demo-* users)."

    def add_arguments(self, parser):
        parser.add_argument("--scans", type=int, default=1000)
        parser.add_argument("--users", type=int, default=8)
        parser.add_argument("--days", type=int, default=180)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--clear", action="store_true", help="first delete every earlier demo scan")

    def handle(self, *args, scans, users, days, seed, clear, **options):
        if scans < 0 or users < 1 or days < 1:
            raise CommandError("--scans must be 0 or more, --users and --days at least 1")
        rng = random.Random(seed)
        if clear:
            gone, _ = Scan.objects.filter(owner__username__startswith="demo-").delete()
            self.stdout.write(f"Deleted {gone} earlier demo rows.")
        owners = self._users(users)
        image = self._image()
        now = timezone.now()
        #  Oldest first, as real uploads arrive: rows lie on disk in time order, so a date filter reads
        #  the pages of its own months rather than some rows of every page.
        stamps = sorted(self._when(rng, now, days) for _ in range(scans))
        made = 0
        while made < scans:
            n = min(BATCH, scans - made)
            with transaction.atomic():
                batch = [self._scan(rng, owners, image, created) for created in stamps[made:made + n]]
                Scan.objects.bulk_create(batch)
                Prediction.objects.bulk_create([self._prediction(rng, s, now, days) for s in batch])
            made += n
            if scans > BATCH:
                self.stdout.write(f"\r{made:,}/{scans:,} scans ({100 * made // scans}%)", ending="")
                self.stdout.flush()
        if scans > BATCH:
            self.stdout.write("")
        self._analyze()
        self.stdout.write(self.style.SUCCESS(f"Added {made} demo scans for {len(owners)} demo users."))

    def _analyze(self) -> None:
        """Refresh the planner's statistics: right after a bulk load they describe the empty tables,
        and PostgreSQL then passes over the index-only scans the dashboards rely on."""
        tables = [Scan._meta.db_table, Prediction._meta.db_table]
        with connection.cursor() as cur:
            if connection.vendor == "postgresql":
                #  VACUUM also sets the visibility map that index-only scans need; it cannot run
                #  inside a transaction (a test's), where ANALYZE alone still can.
                vacuum = "" if connection.in_atomic_block else "VACUUM "
                cur.execute(f"{vacuum}ANALYZE {', '.join(tables)}")
            else:
                cur.execute("ANALYZE")

    def _users(self, count: int) -> list[User]:
        clinicians, _ = Group.objects.get_or_create(name="clinician")
        owners = []
        for i in range(1, count + 1):
            user, made = User.objects.get_or_create(username=f"demo-clinician-{i:02d}")
            if made:
                user.set_password(PASSWORD)
                user.save()
                user.groups.add(clinicians)
            owners.append(user)
        researcher, made = User.objects.get_or_create(username="demo-researcher")
        if made:
            researcher.set_password(PASSWORD)
            researcher.save()
            researcher.groups.add(Group.objects.get_or_create(name="researcher")[0])
        return owners

    def _image(self) -> str:
        """One small generated picture that every demo scan points at, stored once."""
        if not default_storage.exists(DEMO_IMAGE):
            buf = io.BytesIO()
            Image.radial_gradient("L").resize((128, 128)).save(buf, "PNG")
            default_storage.save(DEMO_IMAGE, ContentFile(buf.getvalue()))
        return DEMO_IMAGE

    def _when(self, rng: random.Random, now, days: int):
        """Uploads fall on weekdays in working hours."""
        day = now - timedelta(days=rng.randrange(days))
        while day.weekday() >= 5 and rng.random() < 0.85:
            day -= timedelta(days=1)
        created = day.replace(hour=rng.randint(7, 18), minute=rng.randrange(60), second=rng.randrange(60))
        return created - timedelta(days=1) if created > now else created

    def _scan(self, rng: random.Random, owners: list[User], image: str, created) -> Scan:
        #  Some users upload far more than others.
        owner = owners[min(int(rng.paretovariate(1.2)) - 1, len(owners) - 1)]
        token = f"{rng.getrandbits(64):016x}"
        return Scan(owner=owner, created=created, original_name=f"DEMO-{token}.png", image=image,
                    sha256=hashlib.sha256(f"demo:{token}".encode()).hexdigest(), format="PNG",
                    width=128, height=128, size_bytes=2048, patient_ref=f"DEMO-P{rng.randrange(1, 5000):04d}",
                    note="Demo data (seed_demo).")

    def _prediction(self, rng: random.Random, scan: Scan, now, days: int) -> Prediction:
        label = rng.choices(list(CLASS_MIX), weights=list(CLASS_MIX.values()))[0]
        out_of_scope = rng.random() < 0.03
        #  At least 0.4, and the others at most half of the rest each, so the label stays the most probable.
        confidence = 0.4 + (0.4 * rng.betavariate(2, 3) if out_of_scope else 0.6 * rng.betavariate(6, 1.5))
        rest = [rng.uniform(0.5, 1) for _ in range(len(CLASSES) - 1)]
        scale = (1 - confidence) / sum(rest)
        others = iter(r * scale for r in rest)
        probs = {c: confidence if c == label else next(others) for c in CLASSES}
        #  The newer version takes over two thirds of the way through the period.
        newer = scan.created > now - timedelta(days=days / 3)
        version, typical_ms = VERSIONS[1 if newer else 0]
        return Prediction(scan=scan, owner_id=scan.owner_id, label=label, confidence=confidence, out_of_scope=out_of_scope,
                          out_of_scope_reason="Demo: not a brain MRI slice." if out_of_scope else "",
                          model_version=version, inference_ms=round(typical_ms * math.exp(rng.gauss(0, 0.3)), 1),
                          created=scan.created, **{f"prob_{c}": p for c, p in probs.items()})
