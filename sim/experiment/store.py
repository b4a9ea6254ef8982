"""The results folder: append-only part files, the consolidated table, series and manifests.

Layout of a results folder (DESIGN.md section 8)::

    parts/part-*.parquet    rows as runs finish, each file written to a temporary name and
                            then os.replace'd, so a killed study leaves only whole files
    runs.parquet            the consolidated table (one row per key, sorted)
    tables/<name>/part-*.parquet   per-run tables (RUN_TABLES: facilities, contracts, inputs,
                            episodes, materials), one row per item of a run with the run's
                            keys in front (design_point, replication, the factors), written atomically
                            beside each runs part (before it, so a kept run row always has
                            its tables)
    <name>.parquet          each per-run table consolidated: the rows of the runs kept in
                            runs.parquet with status ok, one copy per run (the latest)
    series/dpNNNNN-rNNNNN.parquet   daily series per run (study option `series = true`), with
                            the run's design_point and replication as columns: read them
                            all with pd.read_parquet("series/"), or with
                            analysis.durations.read_series where design points differ in
                            columns (pyarrow takes the first file's schema)
    design.csv              the design points (design_point and one column per factor)
    study-key.json          what the stored runs were made from (written before the first
                            run): a resume with a different scenario, design, seed, horizon
                            or series option is refused instead of mixing the two studies
    invocations/*.json      one record per `run` invocation (shards each write their own)
    manifest.json           what, how and with which code the results were made

The key of a run is (design_point, replication). Resuming skips keys stored with status ok;
failed keys are run again, and a later ok row replaces a failed one (a design such as Sobol's
needs every row, so a failure is never silently dropped).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from sim.experiment.tasks import KEY_COLUMNS, RUN_TABLES, STATUS_COLUMNS

# Files and folders a study writes; --fresh removes exactly these, nothing else in the folder.
OWNED = ("parts", "series", "invocations", "runs.parquet", "design.csv", "manifest.json", "study-key.json",
         "summary.csv", "report.md", "report.html", "figures", "experiments.csv", "outcomes.csv", "tables",
         "parties.csv", "contract_outcomes.csv",
         *(f"{name}.parquet" for name in RUN_TABLES))
# Any of these marks a folder as a study's results (older folders have no study-key.json).
MARKERS = ("study-key.json", "manifest.json", "parts", "design.csv", "runs.parquet")
STUDY_KEY = "study-key.json"
# The columns that say which run a row of a stored daily series belongs to.
SERIES_KEYS = ("design_point", "replication")


#: The stored status of an ok run that lacks a column the study now asks for (see stored_status).
STALE = "ok-without-outcomes"

# Bytes written (and removed) to prove the results folder can take more results.
PROBE_BYTES = 1 << 20


def prove_writable(folder: Path, nbytes: int = PROBE_BYTES) -> None:
    """Create `folder` if needed and write, sync and remove `nbytes` there; OSError when it cannot.
    Real bytes, not an empty file: a full disk still has inodes for empty files."""
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".write-test-{uuid.uuid4().hex}"
    try:
        with probe.open("wb") as fh:
            fh.write(bytes(nbytes))
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        probe.unlink(missing_ok=True)


class StoreError(Exception):
    """The results folder cannot be used (not writable, not a folder...)."""


class ResultStore:
    """A results folder on disk."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.parts = self.root / "parts"
        self.series_dir = self.root / "series"
        self.invocations = self.root / "invocations"
        self.tables = self.root / "tables"

    # --- set-up ---------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Create the folder if needed and prove a file can be written there; raise StoreError."""
        try:
            if self.root.exists() and not self.root.is_dir():
                raise StoreError(f"{self.root}: exists and is not a folder")
            prove_writable(self.root)
        except OSError as err:
            raise StoreError(f"{self.root}: cannot write results here ({err.strerror or err})") from None

    def check_results_folder(self) -> None:
        """Raise StoreError if the folder holds files but is not a study's results folder:
        `run` writes report.md, figures/ and more there, and `--fresh` deletes them, so it must
        never take a folder of the user's own files for one."""
        if not self.root.is_dir() or any((self.root / name).exists() for name in MARKERS):
            return
        # Hidden files do not count: another shard's write probe, a .gitkeep, a .DS_Store.
        if any(not entry.name.startswith(".") for entry in self.root.iterdir()):
            raise StoreError(
                f"{self.root}: holds files but no study results (no manifest.json, study-key.json or "
                "parts/); give a new or empty folder"
            )

    def check_same_study(self, key: dict[str, Any], design_frame: pd.DataFrame) -> None:
        """Raise StoreError if the stored runs were made by a different study than `key`
        describes (see study_key), naming what changed. Writes nothing (see write_key).

        A folder from before study-key.json existed is checked against its design.csv and
        the seed in its manifest.json, as far as they go."""
        has_runs = bool(self.part_files()) or (self.root / "runs.parquet").exists()
        if not has_runs:
            return  # nothing stored to mix with: the key is (re)written before the first run
        try:
            stored = read_json_object(self.root / STUDY_KEY)
        except ValueError as err:
            raise StoreError(f"{err}; rerun with --fresh to start over") from None
        if stored is None:
            stored = self._legacy_key(key, design_frame)
        elif set(stored) != set(key):
            raise StoreError(f"{self.root / STUDY_KEY}: not a complete study key; rerun with --fresh to start over")
        changed = [name for name in key if name in stored and stored[name] != key[name]]
        if changed:
            raise StoreError(
                f"{self.root}: holds runs of a different study (its {', '.join(changed)} changed since they "
                "were stored); rerun with --fresh to replace them, or give another --out"
            )

    def write_key(self, key: dict[str, Any]) -> None:
        """Record what the runs stored here are made from (before the first of them)."""
        self.write_json(STUDY_KEY, key)

    def _legacy_key(self, key: dict[str, Any], design_frame: pd.DataFrame) -> dict[str, Any]:
        """What an older folder's design.csv and manifest.json say of the study key."""
        out: dict[str, Any] = {}
        design_csv = self.root / "design.csv"
        if design_csv.exists():
            try:
                before = pd.read_csv(design_csv)
            except (OSError, ValueError, pd.errors.ParserError):
                before = None
            now = pd.read_csv(io.StringIO(design_frame.to_csv(index=False)))  # the same round trip
            out["design"] = key["design"] if before is not None and before.equals(now) else "(older design)"
        try:
            manifest = json.loads((self.root / "manifest.json").read_text(encoding="utf-8"))
            out["seed"] = manifest["seeds"]["entropy"]
            out["horizon_days"] = manifest["design"]["horizon_days"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return out

    def wipe(self) -> None:
        """Remove everything a study wrote here (and only that)."""
        for name in OWNED:
            target = self.root / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()

    def prepare(self) -> None:
        """Create the sub-folders."""
        for folder in (self.parts, self.invocations):
            folder.mkdir(parents=True, exist_ok=True)

    # --- writing --------------------------------------------------------------------------

    def write_part(self, rows: list[dict[str, Any]]) -> Path | None:
        """Append rows as a new part file (atomic); return its path."""
        if not rows:
            return None
        name = f"part-{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
        target = self.parts / name
        atomic_write(target, lambda tmp: pd.DataFrame(rows).to_parquet(tmp, index=False))
        return target

    def write_tables(self, tables: dict[str, list[pd.DataFrame]]) -> list[Path]:
        """Append each per-run table's frames (already keyed by run) as a new part file of
        tables/<name>/ (atomic); return the paths written."""
        written = []
        stamp = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        for name, frames in tables.items():
            # An empty table is written too: a study whose runs had no episode has an empty
            # episodes table, which is not the same as a store without one.
            frames = [f for f in frames if f is not None]
            if not frames:
                continue
            folder = self.tables / name
            folder.mkdir(parents=True, exist_ok=True)
            filled = [f for f in frames if not f.empty]
            frame = pd.concat(filled, ignore_index=True) if filled else frames[0]
            target = folder / f"part-{stamp}.parquet"
            atomic_write(target, lambda tmp, frame=frame: frame.to_parquet(tmp, index=False))
            written.append(target)
        return written

    def write_series(self, design_point: int, replication: int, series: pd.DataFrame) -> None:
        """Store one run's daily series (atomic), one row per day with the run's key in front
        (`design_point`, `replication`), so that ``pd.read_parquet(root / "series")`` reads every
        run into one table that joins runs.parquet on those columns."""
        self.series_dir.mkdir(parents=True, exist_ok=True)
        target = self.series_dir / f"dp{design_point:05d}-r{replication:05d}.parquet"
        keyed = series.drop(columns=list(SERIES_KEYS), errors="ignore")
        keyed.insert(0, "replication", pd.Series(replication, index=keyed.index, dtype="int64"))
        keyed.insert(0, "design_point", pd.Series(design_point, index=keyed.index, dtype="int64"))
        atomic_write(target, lambda tmp: keyed.to_parquet(tmp, index=False))

    def write_json(self, relative: str, data: dict[str, Any]) -> Path:
        """Write a JSON document (atomic)."""
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
        atomic_write(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return target

    def write_design(self, factors: list[str], points: list[dict[str, Any]]) -> None:
        """The design table: design_point plus one column per factor."""
        frame = design_frame(factors, points)
        atomic_write(self.root / "design.csv", lambda tmp: frame.to_csv(tmp, index=False))

    # --- reading --------------------------------------------------------------------------

    def part_files(self) -> list[Path]:
        """Part files in the order they were written."""
        return sorted(self.parts.glob("part-*.parquet")) if self.parts.is_dir() else []

    def stored_status(self, required: Iterable[str] = ()) -> dict[tuple[int, int], str]:
        """Key -> best stored status ('ok' beats the others), reading only the key columns.

        An ok row of a part file without every `required` column (an outcome the study named
        after the run was stored) counts as :data:`STALE`: the run is made again, and
        :meth:`consolidate` keeps the newer ok row."""
        required = list(required)
        out: dict[tuple[int, int], str] = {}
        for part in self.part_files():
            has_all = set(required) <= set(pq.read_schema(part).names)
            table = pq.read_table(part, columns=["design_point", "replication", "status"])
            for dp, rep, status in zip(*(table.column(c).to_pylist() for c in table.column_names),
                                       strict=True):
                key = (int(dp), int(rep))
                if status == "ok" and not has_all:
                    status = STALE
                if out.get(key) != "ok" and not (out.get(key) == STALE and status != "ok"):
                    out[key] = status
        return out

    def consolidate(self, factors: Iterable[str], replications: int | None = None) -> pd.DataFrame:
        """Merge the part files into runs.parquet: one row per key (ok preferred, else the
        latest), sorted by design point and replication, columns in a fixed order. With
        `replications`, runs of replications beyond it (a study resumed with fewer) stay in
        parts/ but are left out."""
        frames = [pd.read_parquet(p) for p in self.part_files()]
        frames = [f for f in frames if not f.empty]
        if not frames:
            runs = pd.DataFrame(columns=[*KEY_COLUMNS, *factors, *STATUS_COLUMNS])
        else:
            runs = pd.concat(frames, ignore_index=True)
        if replications is not None:
            runs = runs[runs["replication"] < replications]
        runs["_order"] = range(len(runs))
        runs["_ok"] = runs["status"].eq("ok")
        runs = runs.sort_values(["design_point", "replication", "_ok", "_order"], kind="stable")
        runs = runs.drop_duplicates(["design_point", "replication"], keep="last")
        runs = runs.drop(columns=["_order", "_ok"]).reset_index(drop=True)
        runs = order_columns(runs, list(factors))
        atomic_write(self.root / "runs.parquet", lambda tmp: runs.to_parquet(tmp, index=False))
        self.consolidate_tables(runs)
        return runs

    def consolidate_tables(self, runs: pd.DataFrame) -> None:
        """Merge each per-run table's part files into <name>.parquet: the rows of the runs
        stored ok in `runs`, from the latest part file holding each run (a run made again
        after an interruption, or stale, has its rows twice)."""
        ok = runs.loc[runs["status"] == "ok", ["design_point", "replication"]].astype("int64")
        for name in RUN_TABLES:
            parts = sorted((self.tables / name).glob("part-*.parquet")) if (self.tables / name).is_dir() else []
            if not parts:
                continue
            frames = []
            for order, part in enumerate(parts):
                frame = pd.read_parquet(part)
                if not frame.empty:
                    frames.append(frame.assign(_part=order))
            table = pd.concat(frames, ignore_index=True) if frames else pd.read_parquet(parts[0])
            if not table.empty:
                table = table.astype({"design_point": "int64", "replication": "int64"})
                latest = table.groupby(["design_point", "replication"])["_part"].transform("max")
                table = table[table["_part"] == latest].drop(columns="_part")
                table = table.merge(ok, on=["design_point", "replication"], how="inner")
                table = table.sort_values(["design_point", "replication"], kind="stable").reset_index(drop=True)
                # A facility pays a cost category only when it occurs: those columns come last,
                # by name, so the order does not depend on which run was stored first.
                costs = sorted(c for c in table.columns if c.startswith("cost_"))
                table = table[[c for c in table.columns if c not in costs] + costs]
            atomic_write(self.root / f"{name}.parquet", lambda tmp, t=table: t.to_parquet(tmp, index=False))

    def read_table(self, name: str) -> pd.DataFrame | None:
        """A consolidated per-run table (None when the folder has none: an older study)."""
        path = self.root / f"{name}.parquet"
        return pd.read_parquet(path) if path.exists() else None

    def read_runs(self) -> pd.DataFrame:
        """The consolidated table (raises FileNotFoundError when there is none)."""
        return pd.read_parquet(self.root / "runs.parquet")


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A results folder's JSON file (study key, manifest): None when there is none; ValueError
    naming the file when it cannot be read or is not a JSON object."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable ({err})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    return data


def design_frame(factors: list[str], points: list[dict[str, Any]]) -> pd.DataFrame:
    """design.csv's table: design_point plus one column per factor."""
    return pd.DataFrame([{"design_point": i, **p} for i, p in enumerate(points)], columns=["design_point", *factors])


def order_columns(runs: pd.DataFrame, factors: list[str]) -> pd.DataFrame:
    """Key columns, factors, metrics (in the model's order), then status, error, wall_s."""
    fixed = [*KEY_COLUMNS, *factors, *STATUS_COLUMNS]
    metrics = [c for c in runs.columns if c not in fixed]
    runs = runs.astype({"design_point": "int64", "replication": "int64", "wall_s": "float64"})
    runs = runs.astype({m: "float64" for m in metrics})
    runs["seed"] = runs["seed"].astype(str)
    runs["status"] = runs["status"].astype(str)
    runs["error"] = runs["error"].fillna("").astype(str)
    return runs[[*KEY_COLUMNS, *factors, *metrics, *STATUS_COLUMNS]]


def atomic_write(target: Path, write: Any) -> None:
    """Write through `write(tmp_path)` to a temporary sibling, then rename over `target`."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
