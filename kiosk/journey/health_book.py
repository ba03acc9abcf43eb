"""The health-book (Sổ sức khỏe điện tử) guide as a pure decision tree.

No API tells a facility whether a patient has the health book on VNeID, so
the kiosk asks simple yes/no questions and shows the steps for the answer,
as the seeds prescribe (seed 004, Phụ lục I–III; DOMAIN.md §8):

* under 14 → no own VNeID account: a parent guides (optionally the parent's
  own flow);
* VNeID not installed → how to install it and what level 2 is;
* no level-2 account → go to the police (Công an) to get it;
* level 2, BHYT card not shown in VNeID → integrate the card (Ví giấy tờ →
  Tích hợp giấy tờ → …), read its status (Đã xác thực / Chờ xác thực /
  Xác thực không đạt), then activate;
* BHYT integrated → activate (Hồ sơ sức khỏe → Sổ sức khỏe điện tử → …)
  and show how to present it at the next visit.

`start()` and `answer()` return the new state plus the anonymous metric
names to count (enum values only: never anything the patient typed or
carries). The texts and pictures for each node are content, in
`assets/health_book/guide.toml` (see `health_book_content`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum

from kiosk.domain.bhyt import parse_bhyt_number
from kiosk.domain.dates import age_on
from kiosk.domain.errors import DomainError

ADULT_AGE = 14  # VNeID accounts of one's own start at 14 (seed 004: "từ 14 tuổi")
PREFIX = "health_book."


class Node(StrEnum):
    UNDER_14 = "under_14"  # info: a parent guides a child
    INSTALLED = "installed"  # question: VNeID installed?
    INSTALL = "install"  # steps: install VNeID, what level 2 is
    NO_SMARTPHONE = "no_smartphone"  # end: VNeID needs a smartphone
    LEVEL2 = "level2"  # question: level-2 account?
    POLICE = "police"  # end: get level 2 at the police
    HAS_BHYT = "has_bhyt"  # question (only when the kiosk found no card number)
    NO_BHYT = "no_bhyt"  # end: the book is for BHYT holders for now
    BHYT_SHOWN = "bhyt_shown"  # question: card shown in VNeID?
    INTEGRATE = "integrate"  # steps: Phụ lục I
    STATUS = "status"  # question: which status does VNeID show?
    PENDING = "pending"  # end: Chờ xác thực
    FAILED = "failed"  # end: Xác thực không đạt
    BOOK_OPENED = "book_opened"  # question: health book opened already?
    ACTIVATE = "activate"  # steps: Phụ lục II (+ the illustrated Bước 2–8)
    PRESENT = "present"  # steps: show it at the next visit (Phụ lục II/III)
    CONFIRM = "confirm"  # question: did you open it? (self-reported completion)
    LATER = "later"  # end: the patient will do it at home


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    NEXT = "next"
    LATER = "later"
    PARENT = "parent"  # under 14: the accompanying parent does their own book
    NO_SMARTPHONE = "no_smartphone"
    VERIFIED = "verified"  # Đã xác thực
    PENDING = "pending"  # Chờ xác thực
    FAILED = "failed"  # Xác thực không đạt
    BACK = "back"
    QUIT = "quit"  # "Bỏ qua" on any screen
    DONE = "done"  # leave an end screen


class Branch(StrEnum):
    """The guidance a patient was given (counted once per session each)."""

    PARENT = "parent"
    INSTALL = "install"
    POLICE_LEVEL2 = "police_level2"
    INTEGRATE_BHYT = "integrate_bhyt"
    ACTIVATE = "activate"
    PRESENT = "present"


class Reason(StrEnum):
    """Why a patient cannot activate the book today (not eligible)."""

    UNDER_14 = "under_14"
    NO_SMARTPHONE = "no_smartphone"
    NO_LEVEL2 = "no_level2"
    NO_BHYT = "no_bhyt"


class Status(StrEnum):
    """The BHYT integration result VNeID shows (seed 004, Phụ lục I)."""

    VERIFIED = "verified"
    PENDING = "pending"
    FAILED = "failed"


QUESTIONS = frozenset({Node.INSTALLED, Node.LEVEL2, Node.HAS_BHYT, Node.BHYT_SHOWN,
                       Node.STATUS, Node.BOOK_OPENED, Node.CONFIRM})
STEPS = frozenset({Node.INSTALL, Node.INTEGRATE, Node.ACTIVATE, Node.PRESENT})
ENDS = frozenset({Node.NO_SMARTPHONE, Node.POLICE, Node.NO_BHYT, Node.PENDING, Node.FAILED,
                  Node.LATER})

# Which handout (steps printed for the patient to take home) fits each node.
HANDOUT: dict[Node, Node] = {
    Node.UNDER_14: Node.INSTALL, Node.INSTALLED: Node.INSTALL, Node.INSTALL: Node.INSTALL,
    Node.NO_SMARTPHONE: Node.INSTALL, Node.LEVEL2: Node.POLICE, Node.POLICE: Node.POLICE,
    Node.HAS_BHYT: Node.INTEGRATE, Node.NO_BHYT: Node.NO_BHYT,
    Node.BHYT_SHOWN: Node.INTEGRATE, Node.INTEGRATE: Node.INTEGRATE,
    Node.STATUS: Node.INTEGRATE, Node.PENDING: Node.INTEGRATE, Node.FAILED: Node.FAILED,
    Node.BOOK_OPENED: Node.ACTIVATE, Node.ACTIVATE: Node.ACTIVATE,
    Node.PRESENT: Node.PRESENT, Node.CONFIRM: Node.ACTIVATE, Node.LATER: Node.ACTIVATE,
}


def branch_metric(branch: Branch) -> str:
    return f"{PREFIX}branch.{branch.value}"


def reason_metric(reason: Reason) -> str:
    return f"{PREFIX}not_eligible.{reason.value}"


def status_metric(status: Status) -> str:
    return f"{PREFIX}integration_status.{status.value}"


PARENT_FLOW = f"{PREFIX}parent_flow"


@dataclass(frozen=True)
class Guide:
    """Where one patient is in the guide. Holds the BHYT number only for display;
    it lives in the journey session and is wiped with it."""

    node: Node
    bhyt_number: str | None = None  # shown large and printed, so they can type it
    parent: bool = False  # a parent doing their own book for a child's visit
    history: tuple[Node, ...] = ()
    counted: frozenset[str] = frozenset()
    completed: bool | None = None  # set when the guide ends (self-reported)
    handout: str | None = None  # None, "printing", "printed", "failed"

    @property
    def finished(self) -> bool:
        return self.completed is not None

    @property
    def handout_section(self) -> Node:
        """The section of steps a printed slip should carry now."""
        return HANDOUT[self.node]

    def answers(self) -> tuple[Answer, ...]:
        """What the patient can tap on this node (the UI draws these, in order)."""
        return tuple(a for a in _ANSWERS[self.node] if self._valid(a))

    def _valid(self, a: Answer) -> bool:
        return a is not Answer.BACK or bool(self.history)


_ANSWERS: dict[Node, tuple[Answer, ...]] = {
    Node.UNDER_14: (Answer.PARENT, Answer.DONE),
    Node.INSTALLED: (Answer.YES, Answer.NO, Answer.NO_SMARTPHONE),
    Node.INSTALL: (Answer.NEXT, Answer.LATER),
    Node.LEVEL2: (Answer.YES, Answer.NO),
    Node.HAS_BHYT: (Answer.YES, Answer.NO),
    Node.BHYT_SHOWN: (Answer.YES, Answer.NO),
    Node.INTEGRATE: (Answer.NEXT, Answer.LATER),
    Node.STATUS: (Answer.VERIFIED, Answer.PENDING, Answer.FAILED),
    Node.BOOK_OPENED: (Answer.YES, Answer.NO),
    Node.ACTIVATE: (Answer.NEXT, Answer.LATER),
    Node.PRESENT: (Answer.NEXT,),
    Node.CONFIRM: (Answer.YES, Answer.NO),
}
for _end in ENDS:
    _ANSWERS[_end] = (Answer.DONE,)
for _node, _options in list(_ANSWERS.items()):
    # Back and quit are everywhere but the first screen has no back.
    _ANSWERS[_node] = (*_options, Answer.BACK, Answer.QUIT)


def usable_card_number(*candidates: str | None) -> str | None:
    """The first candidate VNeID accepts as "Số thẻ BHYT": the 15-character card
    code or the 10-digit BHXH number (seed 004: "Mẫu thẻ cũ / Mẫu thẻ mới").
    A 12-digit personal ID is what the gateway was asked with, not a card number."""
    for text in candidates:
        if not text:
            continue
        try:
            number = parse_bhyt_number(text)
        except DomainError:
            continue
        if number.format in ("bhyt15", "bhxh10"):
            return number.card_number
    return None


def start(
    date_of_birth: dt.date | int | None, today: dt.date, bhyt_number: str | None
) -> tuple[Guide, list[str]]:
    """The first screen: the under-14 explanation, else the VNeID question."""
    if date_of_birth is not None and age_on(date_of_birth, today) < ADULT_AGE:
        metric = reason_metric(Reason.UNDER_14)
        # The child's card is not the parent's: never offer it for the parent's VNeID.
        return Guide(Node.UNDER_14, None, counted=frozenset({metric})), [metric]
    return Guide(Node.INSTALLED, bhyt_number), []


def _next(g: Guide, a: Answer) -> tuple[Node, list[str]] | None:
    """(next node, metrics) for answer `a` on node `g.node`; None: not a valid answer."""
    n = g.node
    after_level2 = Node.BHYT_SHOWN if g.bhyt_number else Node.HAS_BHYT
    table: dict[tuple[Node, Answer], tuple[Node, list[str]]] = {
        (Node.UNDER_14, Answer.PARENT): (Node.INSTALLED,
                                         [PARENT_FLOW, branch_metric(Branch.PARENT)]),
        (Node.INSTALLED, Answer.YES): (Node.LEVEL2, []),
        (Node.INSTALLED, Answer.NO): (Node.INSTALL, [branch_metric(Branch.INSTALL)]),
        (Node.INSTALLED, Answer.NO_SMARTPHONE): (Node.NO_SMARTPHONE,
                                                 [reason_metric(Reason.NO_SMARTPHONE)]),
        (Node.INSTALL, Answer.NEXT): (Node.LEVEL2, []),
        (Node.INSTALL, Answer.LATER): (Node.LATER, []),
        (Node.LEVEL2, Answer.YES): (after_level2, []),
        (Node.LEVEL2, Answer.NO): (Node.POLICE, [branch_metric(Branch.POLICE_LEVEL2),
                                                 reason_metric(Reason.NO_LEVEL2)]),
        (Node.HAS_BHYT, Answer.YES): (Node.BHYT_SHOWN, []),
        (Node.HAS_BHYT, Answer.NO): (Node.NO_BHYT, [reason_metric(Reason.NO_BHYT)]),
        (Node.BHYT_SHOWN, Answer.YES): (Node.BOOK_OPENED, []),
        (Node.BHYT_SHOWN, Answer.NO): (Node.INTEGRATE, [branch_metric(Branch.INTEGRATE_BHYT)]),
        (Node.INTEGRATE, Answer.NEXT): (Node.STATUS, []),
        (Node.INTEGRATE, Answer.LATER): (Node.LATER, []),
        (Node.STATUS, Answer.VERIFIED): (Node.ACTIVATE, [status_metric(Status.VERIFIED),
                                                         branch_metric(Branch.ACTIVATE)]),
        (Node.STATUS, Answer.PENDING): (Node.PENDING, [status_metric(Status.PENDING)]),
        (Node.STATUS, Answer.FAILED): (Node.FAILED, [status_metric(Status.FAILED)]),
        (Node.BOOK_OPENED, Answer.YES): (Node.PRESENT, [branch_metric(Branch.PRESENT)]),
        (Node.BOOK_OPENED, Answer.NO): (Node.ACTIVATE, [branch_metric(Branch.ACTIVATE)]),
        (Node.ACTIVATE, Answer.NEXT): (Node.PRESENT, []),
        (Node.ACTIVATE, Answer.LATER): (Node.LATER, []),
        (Node.PRESENT, Answer.NEXT): (Node.CONFIRM, []),
    }
    return table.get((n, a))


def answer(g: Guide, a: Answer) -> tuple[Guide, list[str]]:
    """Apply the patient's answer. Invalid answers change nothing (a stale tap from
    the previous screen must not skip a question)."""
    if g.finished or a not in g.answers():
        return g, []
    if a is Answer.BACK:
        return replace(g, node=g.history[-1], history=g.history[:-1]), []
    if a is Answer.QUIT:
        return _count(replace(g, completed=False), [f"{PREFIX}quit.{g.node.value}"])
    if a is Answer.DONE:
        return replace(g, completed=False), []
    if g.node is Node.CONFIRM:
        return replace(g, completed=a is Answer.YES), []
    step = _next(g, a)
    if step is None:  # pragma: no cover - _ANSWERS and the table agree (tested)
        return g, []
    node, metrics = step
    changes: dict[str, object] = {}
    if a is Answer.PARENT:
        changes["parent"] = True
    moved = replace(g, node=node, history=(*g.history, g.node), **changes)  # type: ignore[arg-type]
    return _count(moved, metrics)


def _count(g: Guide, metrics: list[str]) -> tuple[Guide, list[str]]:
    """Each metric once per patient, even when they go back and forth."""
    new = [m for m in metrics if m not in g.counted]
    return replace(g, counted=g.counted | frozenset(new)), new


def all_metrics() -> set[str]:
    """Every metric name the guide can emit (the report's columns)."""
    names = {branch_metric(b) for b in Branch} | {reason_metric(r) for r in Reason}
    names |= {status_metric(s) for s in Status} | {PARENT_FLOW}
    return names | {f"{PREFIX}quit.{n.value}" for n in Node}
