"""What the command line's changes of people share (``rural-bot partner``, ``rural-bot staff``):
how a person is shown, the answer when nobody or several have a username, and the y/N question
asked before anything changes."""

from __future__ import annotations

import sys

from services.partners import AmbiguousPerson, UnknownPerson


def person_line(person) -> str:
    """A person as the command line shows them before changing their rights."""
    if not person.known:
        return f"id {person.telegram_id} (has not written to the bot yet)"
    name = f"{person.first_name} @{person.username}" if person.username else person.first_name
    return f"{name.strip() or '-'} (id {person.telegram_id})"


def person_not_found(who: str, exc: UnknownPerson | AmbiguousPerson) -> int:
    """Say that ``who`` names nobody who wrote to the bot, or several people (listed); exit code 1."""
    if isinstance(exc, AmbiguousPerson):
        print(f"more than one person has had the username {who}; nothing changed. Use the numeric id "
              "of the right one:", file=sys.stderr)
        for person in exc.candidates:
            print(f"  {person_line(person)}", file=sys.stderr)
    else:
        print(f"nobody with the username {who} has written to the bot; use their numeric user id", file=sys.stderr)
    return 1


def confirmed_at_terminal(yes: bool) -> bool:
    """Whether to go on: ``--yes``, or "y" typed at a terminal; otherwise says nothing changed."""
    if yes:
        return True
    if not sys.stdin.isatty():
        print("nothing changed: confirm with --yes (standard input is not a terminal)", file=sys.stderr)
        return False
    if input("Is this the right person? [y/N] ").strip().lower() not in ("y", "yes"):
        print("nothing changed")
        return False
    return True
