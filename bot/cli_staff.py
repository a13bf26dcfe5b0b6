"""``rural-bot staff``: county staff from the command line (bot/cli.py hands the commands here).

    rural-bot staff add --county 苍溪县 --user 123456 [--yes]   make someone (a user id or @username)
                                                              staff of a county; it shows who was
                                                              found, then asks y/N (--yes: no question)
    rural-bot staff remove --county 苍溪县 --user 123456 [--yes]
    rural-bot staff list [--county 苍溪县]

A county is named by its name in any language ("苍溪县", "Cangxi County").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from bot.cli_people import confirmed_at_terminal, person_line, person_not_found
from services import counties
from services.clock import SystemClock
from services.errors import NotFound
from services.partners import Actor, AmbiguousPerson, ConfirmationLapsed, PersonChanged, UnknownPerson
from store.db import Store


def add_parser(sub) -> None:
    staff = sub.add_parser("staff", help="who supervises which county").add_subparsers(dest="action", required=True)
    for action in ("add", "remove"):
        change = staff.add_parser(action, help=f"{action} county staff")
        change.add_argument("--county", required=True, help="the county's name in any language, e.g. 苍溪县")
        change.add_argument("--user", required=True,
                            help="the person's numeric Telegram user id, or @username if they wrote to the bot")
        change.add_argument("--yes", action="store_true",
                            help="do it without asking y/N (needed when standard input is not a terminal)")
    listing = staff.add_parser("list", help="list county staff")
    listing.add_argument("--county", help="only this county")


def county_name(names: dict) -> str:
    return " / ".join(dict.fromkeys(str(name) for name in names.values())) or "-"


def work(args: argparse.Namespace) -> Callable:
    """What ``rural-bot staff <action>`` does with the store (for ``cli._with_store``)."""

    async def change(store: Store) -> int:
        actor = Actor(0, "rural-bot", is_admin=True)  # whoever runs the command line is an admin
        clock = SystemClock()
        adding = args.action == "add"
        try:
            found = await counties.preview_staff_change(store, actor, args.county, args.user, adding)
        except NotFound:
            print(f"there is no county named {args.county}", file=sys.stderr)
            return 1
        except (UnknownPerson, AmbiguousPerson) as exc:
            return person_not_found(args.user, exc)
        who, county = person_line(found.person), county_name(found.county_names)
        if not found.needed:
            print(f"{who} is already county staff of {county}" if adding else f"{who} was not county staff of {county}")
            return 0
        print(f"{'make' if adding else 'remove'} {who} {'county staff of' if adding else 'from the staff of'} {county}")
        asked_at = clock.now()
        if not confirmed_at_terminal(args.yes):
            return 1
        person = found.person
        try:
            done = await counties.confirm_staff_change(store, clock, actor, found.county_id, person.telegram_id,
                                                       person.fingerprint, asked_at, adding)
        except (PersonChanged, ConfirmationLapsed, NotFound):
            print("nothing changed: the person or the county changed, or the question waited too long; run the "
                  "command again", file=sys.stderr)
            return 1
        if adding:
            print(f"{who} is county staff of {county}" if done.needed else f"{who} is already county staff of {county}")
        else:
            print(f"{who} is no longer county staff of {county}" if done.needed
                  else f"{who} was not county staff of {county}")
        return 0

    async def listing(store: Store) -> int:
        try:
            found = await counties.list_staff(store, args.county)
        except NotFound:
            print(f"there is no county named {args.county}", file=sys.stderr)
            return 1
        for s in found:
            print(f"{county_name(s.county_names)}\t{s.telegram_id}\t{s.first_name}\t"
                  f"{'@' + s.username if s.username else ''}")
        return 0

    return listing if args.action == "list" else change
