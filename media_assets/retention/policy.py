"""Which published days retention keeps whole, and what each of the others is stored against.

- The newest `keep_days` published days are kept whole: the next day's build reads the newest (its SCD2
  predecessor, the trending KPI's yesterday), and re-running the newest reads the one before.
- One *keyframe* per block of `keyframe_days` days is kept whole too: the first published day of the block, the
  blocks counted from 1970-01-01, so the choice depends only on which days are published (a rerun chooses the same).
  Its raw files are the base of the deltas of the block's other days, and its published tables are kept, so
  rebuilding a pruned day never goes back further than its keyframe.
- Every other published day is *compacted*: its raw files stored as deltas against its keyframe's, its tables
  removed (they are rebuilt from the raw files and the day before).
"""

import datetime as dt
from dataclasses import dataclass
from enum import Enum

EPOCH = dt.date(1970, 1, 1)


class Role(Enum):
    RECENT = "recent"
    KEYFRAME = "keyframe"
    COMPACTED = "compacted"


@dataclass(frozen=True)
class RetentionPolicy:
    keep_days: int = 7
    keyframe_days: int = 30

    def __post_init__(self) -> None:
        if self.keep_days < 2:
            raise ValueError(f"keep_days={self.keep_days}: at least 2 (the newest day and the one a rerun reads)")
        if self.keyframe_days < 1:
            raise ValueError(f"keyframe_days={self.keyframe_days}: at least 1")


@dataclass(frozen=True)
class DayPlan:
    day: dt.date
    role: Role
    keyframe: dt.date
    """The keyframe of the day's block (the day itself for a keyframe)."""


def plan_days(published: list[dt.date], policy: RetentionPolicy) -> list[DayPlan]:
    """The role of each published day (oldest first)."""
    days = sorted(published)
    recent = set(days[-policy.keep_days :])
    keyframes: dict[int, dt.date] = {}
    for day in days:
        keyframes.setdefault(block_of(day, policy), day)
    plans = []
    for day in days:
        keyframe = keyframes[block_of(day, policy)]
        role = Role.KEYFRAME if day == keyframe else Role.RECENT if day in recent else Role.COMPACTED
        plans.append(DayPlan(day, role, keyframe))
    return plans


def block_of(day: dt.date, policy: RetentionPolicy) -> int:
    return (day - EPOCH).days // policy.keyframe_days
