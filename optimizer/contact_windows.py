"""Rolling-window contact rules, turned into limits on the plan's own contacts.

Every new contact of a plan is made on its plan date. A window "at most ``max`` counted
contacts in any ``days`` days" can then bind only through the span of ``days`` days that
ends on the plan date (any other span holding the plan date holds fewer past days), so each
customer may get ``max`` minus the counted contacts of the last ``days - 1`` days, the
customer's *room* in the window. A cool-down (``after: declined``) gives room only to the
customers it has started for: ``max`` minus the counted contacts since its start, the
tightest of its starts. ``min_gap_days`` is the window of ``min_gap_days`` days with room for
one; a sequence "never B within D days after A" blocks B for a customer offered A in the
last D - 1 days, and pairs A and B as an exclusion within the plan.

Room becomes one of three things the model already has, so that exact mode and the
per-customer walk of decomposition enforce it alike, with no new kind of row:

- no room: the matching options are removed (like a do-not-contact row);
- room on a window over every contact: the customer's ``max_contacts`` is lowered;
- room on a window over one channel: a per-customer cap on that channel.

A window narrowed to an offer (with a channel or not) can only bind at room 0: one plan
gives a customer an offer once.

The verifier checks the plan against the history with its own count (optimizer.verify).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .contact_history import ContactHistory
from .scenario import ContactWindow, Scenario

__all__ = ["UNLIMITED", "WindowEffect", "ContactRestrictions", "restrict_contacts"]

UNLIMITED = np.iinfo(np.int32).max


@dataclass(frozen=True)
class WindowEffect:
    """What one window or sequence did to this plan's options, before any solve."""

    name: str
    customers_restricted: int  # customers whose room in it is below its max (past contacts used some)
    customers_blocked: int  # customers with no room left for what it counts
    options_removed: int  # options removed because it leaves no room (and no earlier window removed them)


@dataclass(frozen=True, eq=False)
class ContactRestrictions:
    """The contact policy applied to one base: options to remove and per-customer caps."""

    remove: np.ndarray  # bool per option
    max_contacts: np.ndarray | None  # int per customer, the room of every whole-base window (None: no such window)
    channel_caps: dict[str, np.ndarray] = field(default_factory=dict)  # channel -> int per customer
    exclusions: tuple[tuple[str, str], ...] = ()  # pairs a sequence forbids within the plan
    effects: tuple[WindowEffect, ...] = ()
    # per window of ``policy.all_windows``: each customer's room on the plan date (UNLIMITED where a
    # cool-down has not started), what a multi-wave plan's contacts of earlier waves share (optimizer.waves)
    rooms: tuple[np.ndarray, ...] = ()


def _matching(frame: pd.DataFrame, window: ContactWindow) -> np.ndarray:
    keep = np.ones(len(frame), bool)
    if window.offer is not None:
        keep &= (frame["offer_id"] == window.offer).to_numpy()
    if window.channel is not None:
        keep &= (frame["channel_id"] == window.channel).to_numpy()
    return keep


def _room(window: ContactWindow, history: ContactHistory | None, who: np.ndarray, age: np.ndarray, n: int) -> np.ndarray:
    """Each customer's room in ``window`` on the plan date (UNLIMITED where a cool-down has not started)."""
    if history is None or not len(history.table):
        return np.full(n, UNLIMITED if window.after else window.max, np.int64)
    counted = _matching(history.table, window)
    if window.after is None:
        recent = counted & (age < window.days)
        return window.max - np.bincount(who[recent], minlength=n)
    rows = pd.DataFrame({"who": who[counted], "date": history.table["date"].to_numpy()[counted],
                         "start": (history.table["outcome"].to_numpy()[counted] == window.after) & (age[counted] < window.days)})
    # counted contacts on or after each one's day (itself included): a descending rank, ties at their highest
    rows["since"] = rows.groupby("who")["date"].rank(method="max", ascending=False).to_numpy(np.int64)
    starts = rows[rows["start"].to_numpy()]
    room = np.full(n, UNLIMITED, np.int64)
    np.minimum.at(room, starts["who"].to_numpy(), window.max - (starts["since"].to_numpy() - 1))
    return room


def restrict_contacts(scenario: Scenario, history: ContactHistory | None, options: pd.DataFrame, customer: np.ndarray,
                      customer_ids: pd.Series, max_contacts: np.ndarray) -> ContactRestrictions:
    """Room in every window and sequence of ``scenario.contact_policy``, for options of customers
    at positions ``customer`` in ``customer_ids``; ``max_contacts`` is each customer's own cap."""
    policy = scenario.contact_policy
    n = len(customer_ids)
    remove = np.zeros(len(options), bool)
    whole: np.ndarray | None = None
    caps: dict[str, np.ndarray] = {}
    effects = []
    rooms = []
    who = age = np.zeros(0, np.int64)
    if history is not None:
        who = pd.Index(customer_ids.astype(str)).get_indexer(history.table["customer_id"]).astype(np.int64)
        age = history.age_days()
    for window in policy.all_windows:
        room = np.maximum(_room(window, history, who, age, n), 0)
        rooms.append(room)
        limited = room < (UNLIMITED if window.after else window.max)
        hit = _matching(options, window) & (room[customer] == 0) & ~remove
        remove |= hit
        if window.offer is None and window.channel is None:
            whole = room if whole is None else np.minimum(whole, room)
        elif window.offer is None:
            channel = window.channel
            assert channel is not None
            caps[channel] = room if channel not in caps else np.minimum(caps[channel], room)
        effects.append(WindowEffect(window.label, int(limited.sum()), int((room == 0).sum()), int(hit.sum())))
    exclusions = []
    for seq in policy.sequences:
        blocked = np.zeros(n, bool)
        if history is not None and len(history.table):
            recent = (history.table["offer_id"].to_numpy() == seq.first) & (age < seq.days)
            blocked[who[recent]] = True
        hit = (options["offer_id"] == seq.then).to_numpy() & blocked[customer] & ~remove
        remove |= hit
        if seq.first != seq.then:  # the same offer twice in one plan is already excluded
            exclusions.append((seq.first, seq.then))
        effects.append(WindowEffect(seq.label, int(blocked.sum()), int(blocked.sum()), int(hit.sum())))
    if whole is not None:
        whole = np.minimum(whole, max_contacts)
    for channel, room in caps.items():
        cap = scenario.channels[channel].max_per_customer
        caps[channel] = np.minimum(room, cap if cap is not None else UNLIMITED).astype(np.int32)
    return ContactRestrictions(remove, whole, caps, tuple(exclusions), tuple(effects), tuple(rooms))
