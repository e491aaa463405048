"""Every kind of notification: who gets it, on which channels by default, and its words.

One table, data only. Each kind has a title and body (push, in-app inbox, e-mail) in Vietnamese
and English, and a short SMS text without diacritics: GSM-7 keeps an SMS at 160 characters,
where Vietnamese with diacritics would need UCS-2 and 70. ``{placeholders}`` are filled from
the data given to ``notify``; every one a kind uses must be there, or ``notify`` raises.
Dates (``*_date`` fields, ISO 8601) are shown as dd/mm/yyyy.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from datetime import date
from typing import Any

from backend.notifications.models import Channel

INBOX, PUSH, SMS, EMAIL = Channel.INBOX, Channel.PUSH, Channel.SMS, Channel.EMAIL
ALL_CHANNELS = frozenset(Channel)


class UnknownKind(ValueError):
    """A kind with no template: a programming error, never a message silently dropped."""


class MissingData(ValueError):
    """The data given for a kind lacks a field its texts need."""


@dataclass(frozen=True)
class Template:
    kind: str
    audience: str  # "citizen", "staff" or "phone" (sent to a number, not to an account)
    defaults: frozenset[Channel]
    title: tuple[str, str]  # (vi, en)
    body: tuple[str, str]
    sms: tuple[str, str]
    link: str | None = None
    # Secret data is sealed at rest and never goes to the inbox (a sign-in code).
    secret: bool = False
    # Channels a person cannot switch off (inbox: the app's own record; SMS for a code).
    always: frozenset[Channel] = frozenset({INBOX})
    # The person may choose the channels of this kind.
    choosable: bool = True
    # Retried within seconds rather than minutes: someone is waiting for it.
    urgent: bool = False
    # Fields added to a kind after rows of it were written: those rows show "-" in their place.
    later: frozenset[str] = frozenset()

    @property
    def fields(self) -> frozenset[str]:
        texts = [*self.title, *self.body, *self.sms, self.link or ""]
        return frozenset(
            name for text in texts for _, name, _, _ in string.Formatter().parse(text) if name
        )


@dataclass(frozen=True)
class Rendered:
    title: str
    body: str
    sms: str
    link: str | None


def _dossier(kind: str, title, body, sms, *, sms_default: bool = False, **extra) -> Template:
    return Template(
        kind=f"dossier.{kind}",
        audience="citizen",
        defaults=frozenset({INBOX, PUSH, SMS} if sms_default else {INBOX, PUSH}),
        title=title,
        body=body,
        sms=sms,
        link="dvc://dossiers/{dossier_id}",
        **extra,
    )


def _counter(kind: str, title, sms, **extra) -> Template:
    """A step of a dossier handed in at the counter, texted to the applicant's phone: there is
    no account or app behind it, so the message says where to look or to go."""
    return Template(
        kind=f"dossier.counter_{kind}",
        audience="phone",
        defaults=frozenset({SMS}),
        title=title,
        body=sms,
        sms=sms,
        always=frozenset({SMS}),
        choosable=False,
        **extra,
    )


_COUNTER_TEMPLATES = [
    _counter(
        "received",
        ("Hồ sơ đã được tiếp nhận", "Dossier received"),
        (
            "DVC: Ho so {code} da duoc tiep nhan, hen tra ket qua ngay {due_date}. Ma tra "
            "cuu: {lookup_secret}.",
            "DVC: Dossier {code} was received; result due on {due_date}. Lookup secret: "
            "{lookup_secret}.",
        ),
        later=frozenset({"lookup_secret"}),
    ),
    _counter(
        "supplement_requested",
        ("Hồ sơ cần bổ sung", "More documents needed"),
        (
            "DVC: Ho so {code} can bo sung giay to. Vui long lien he bo phan mot cua.",
            "DVC: Dossier {code} needs more documents. Please contact the one-stop desk.",
        ),
    ),
    _counter(
        "fees_due",
        ("Hồ sơ cần nộp phí", "Fees due"),
        (
            "DVC: Ho so {code} can nop phi, le phi. Vui long lien he bo phan mot cua.",
            "DVC: Fees are due for dossier {code}. Please contact the one-stop desk.",
        ),
    ),
    _counter(
        "decided",
        ("Hồ sơ đã có kết quả", "Result ready"),
        (
            "DVC: Ho so {code} da co ket qua. Moi ong/ba den bo phan mot cua de nhan.",
            "DVC: Dossier {code} has its result. Please collect it at the one-stop desk.",
        ),
    ),
    _counter(
        "due_date_extended",
        ("Hồ sơ có hẹn mới", "New due date"),
        (
            "DVC: Xin loi, ho so {code} cham tra ket qua; hen moi ngay {new_due_date}.",
            "DVC: We are sorry: dossier {code} is late; its new due date is {new_due_date}.",
        ),
    ),
]


_TEMPLATES = [
    _dossier(
        "submitted",
        ("Đã nộp hồ sơ", "Dossier submitted"),
        (
            "Hồ sơ {code} đã được gửi đến cơ quan giải quyết. Mã tra cứu: {lookup_secret}.",
            "Dossier {code} was sent to the agency. Lookup secret: {lookup_secret}.",
        ),
        (
            "DVC: Ho so {code} da duoc nop. Ma tra cuu: {lookup_secret}.",
            "DVC: Dossier {code} was submitted. Lookup secret: {lookup_secret}.",
        ),
        later=frozenset({"lookup_secret"}),
    ),
    _dossier(
        "accepted",
        ("Hồ sơ được tiếp nhận", "Dossier accepted"),
        (
            "Hồ sơ {code} đã được tiếp nhận và đang chờ xử lý.",
            "Dossier {code} was accepted and awaits processing.",
        ),
        ("DVC: Ho so {code} da duoc tiep nhan.", "DVC: Dossier {code} was accepted."),
    ),
    _dossier(
        "refused",
        ("Hồ sơ không được tiếp nhận", "Dossier refused"),
        (
            "Hồ sơ {code} không được tiếp nhận. Xem lý do trong ứng dụng.",
            "Dossier {code} was not accepted. See why in the app.",
        ),
        ("DVC: Ho so {code} khong duoc tiep nhan.", "DVC: Dossier {code} was not accepted."),
    ),
    _dossier(
        "processing",
        ("Hồ sơ đang được xử lý", "Dossier in progress"),
        ("Hồ sơ {code} đang được xử lý.", "Dossier {code} is being processed."),
        ("DVC: Ho so {code} dang duoc xu ly.", "DVC: Dossier {code} is being processed."),
    ),
    _dossier(
        "supplement_requested",
        ("Cần bổ sung hồ sơ", "Documents needed"),
        (
            "Hồ sơ {code} cần bổ sung giấy tờ. Mở ứng dụng để xem yêu cầu.",
            "Dossier {code} needs more documents. Open the app to see what is asked.",
        ),
        (
            "DVC: Ho so {code} can bo sung giay to. Xem: dvc://dossiers/{dossier_id}",
            "DVC: Dossier {code} needs more documents. See dvc://dossiers/{dossier_id}",
        ),
        sms_default=True,
    ),
    _dossier(
        "resubmitted",
        ("Đã nộp bổ sung", "Documents added"),
        ("Hồ sơ {code} đã được nộp bổ sung.", "Documents were added to dossier {code}."),
        ("DVC: Ho so {code} da duoc nop bo sung.", "DVC: Documents added to dossier {code}."),
    ),
    _dossier(
        "fees_due",
        ("Cần nộp phí, lệ phí", "Fees due"),
        (
            "Hồ sơ {code}: hãy nộp phí, lệ phí để tiếp tục xử lý.",
            "Dossier {code}: pay the fees so that processing can go on.",
        ),
        (
            "DVC: Ho so {code} can nop phi, le phi. Xem: dvc://dossiers/{dossier_id}",
            "DVC: Fees are due for dossier {code}. See dvc://dossiers/{dossier_id}",
        ),
        sms_default=True,
    ),
    _dossier(
        "decided",
        ("Đã có kết quả", "Result ready"),
        ("Hồ sơ {code} đã có kết quả.", "Dossier {code} has its result."),
        (
            "DVC: Ho so {code} da co ket qua. Xem: dvc://dossiers/{dossier_id}",
            "DVC: Dossier {code} has its result. See dvc://dossiers/{dossier_id}",
        ),
        sms_default=True,
    ),
    _dossier(
        "returned",
        ("Đã trả kết quả", "Result delivered"),
        (
            "Kết quả của hồ sơ {code} đã được trả.",
            "The result of dossier {code} was delivered.",
        ),
        ("DVC: Da tra ket qua ho so {code}.", "DVC: Result of dossier {code} delivered."),
        sms_default=True,
    ),
    _dossier(
        "withdrawn",
        ("Đã rút hồ sơ", "Dossier withdrawn"),
        (
            "Hồ sơ {code} đã được rút theo yêu cầu của bạn.",
            "Dossier {code} was withdrawn as you asked.",
        ),
        ("DVC: Ho so {code} da duoc rut.", "DVC: Dossier {code} was withdrawn."),
    ),
    _dossier(
        "stopped",
        ("Dừng xử lý hồ sơ", "Processing stopped"),
        (
            "Hồ sơ {code} đã bị dừng xử lý. Xem lý do trong ứng dụng.",
            "Processing of dossier {code} was stopped. See why in the app.",
        ),
        ("DVC: Ho so {code} bi dung xu ly.", "DVC: Dossier {code} was stopped."),
    ),
    _dossier(
        "due_date_extended",
        ("Xin lỗi vì trễ hẹn", "Sorry for the delay"),
        (
            "Cơ quan xin lỗi vì hồ sơ {code} chưa có kết quả đúng hẹn. "
            "Ngày hẹn trả mới: {new_due_date}.",
            "We are sorry that dossier {code} is late. New date for the result: {new_due_date}.",
        ),
        (
            "DVC: Xin loi vi ho so {code} tre hen. Hen tra moi: {new_due_date}.",
            "DVC: Sorry, dossier {code} is late. New date: {new_due_date}.",
        ),
    ),
    Template(
        kind="feedback.answered",
        audience="citizen",
        defaults=frozenset({INBOX, PUSH}),
        title=("Phản ánh đã được trả lời", "Feedback answered"),
        body=(
            "Phản ánh, kiến nghị {code} của bạn đã có câu trả lời.",
            "Your feedback {code} has an answer.",
        ),
        sms=("DVC: Phan anh {code} da duoc tra loi.", "DVC: Feedback {code} was answered."),
        link="dvc://feedback/{feedback_id}",
    ),
    Template(
        # An anonymous sender has no account: the answer is announced to the proven phone.
        kind="feedback.answered_phone",
        audience="phone",
        defaults=frozenset({SMS}),
        title=("Phản ánh đã được trả lời", "Feedback answered"),
        body=(
            "Phản ánh, kiến nghị {code} của bạn đã có câu trả lời.",
            "Your feedback {code} has an answer.",
        ),
        sms=(
            "DVC: Phan anh {code} da duoc tra loi. Xem tai ung dung Dich vu cong.",
            "DVC: Feedback {code} was answered. See the public services app.",
        ),
        always=frozenset({SMS}),
        choosable=False,
    ),
    Template(
        kind="officer.feedback_digest",
        audience="staff",
        defaults=frozenset({INBOX, PUSH, EMAIL}),
        title=("Phản ánh, kiến nghị sắp đến hạn", "Feedback due soon"),
        body=(
            "{due_soon} phản ánh, kiến nghị đến hạn trong 1 ngày làm việc, {overdue} quá hạn.",
            "{due_soon} feedback items due within 1 working day, {overdue} overdue.",
        ),
        sms=(
            "DVC: {due_soon} phan anh den han, {overdue} phan anh qua han.",
            "DVC: {due_soon} feedback items due, {overdue} overdue.",
        ),
        link="dvc://agency/feedback?due=soon",
    ),
    Template(
        kind="officer.digest",
        audience="staff",
        defaults=frozenset({INBOX, PUSH, EMAIL}),
        title=("Hồ sơ đến hạn hôm nay", "Dossiers due today"),
        body=(
            "{due_soon} hồ sơ đến hạn trong 1 ngày làm việc, {overdue} hồ sơ quá hạn.",
            "{due_soon} dossiers due within 1 working day, {overdue} overdue.",
        ),
        sms=(
            "DVC: {due_soon} ho so den han, {overdue} ho so qua han.",
            "DVC: {due_soon} dossiers due, {overdue} overdue.",
        ),
        link="dvc://agency/dossiers?due=soon",
    ),
    # Security messages go everywhere the person can be reached, and cannot be switched off:
    # a passkey someone else added is how an account is taken over.
    *(
        Template(
            kind=f"account.passkey_{kind}",
            audience="citizen",
            defaults=frozenset({INBOX, PUSH, SMS, EMAIL}),
            always=frozenset({INBOX, PUSH, SMS, EMAIL}),
            choosable=False,
            urgent=True,
            title=title,
            body=body,
            sms=sms,
        )
        for kind, title, body, sms in (
            (
                "added",
                ("Đã thêm khóa truy cập", "Passkey added"),
                (
                    'Khóa truy cập "{name}" đã được thêm vào tài khoản ngày {changed_date}. '
                    "Nếu không phải bạn, hãy xóa nó và đăng xuất các thiết bị lạ.",
                    'Passkey "{name}" was added to your account on {changed_date}. If this '
                    "was not you, remove it and sign out the devices you do not know.",
                ),
                (
                    "DVC: mot khoa truy cap moi vua duoc them vao tai khoan ngay {changed_date}. "
                    "Neu khong phai ban, hay kiem tra trong ung dung.",
                    "DVC: a new passkey was added to your account on {changed_date}. If this "
                    "was not you, check it in the app.",
                ),
            ),
            (
                "removed",
                ("Đã xóa khóa truy cập", "Passkey removed"),
                (
                    'Khóa truy cập "{name}" đã bị xóa khỏi tài khoản ngày {changed_date}.',
                    'Passkey "{name}" was removed from your account on {changed_date}.',
                ),
                (
                    "DVC: mot khoa truy cap vua bi xoa khoi tai khoan ngay {changed_date}. "
                    "Neu khong phai ban, hay kiem tra trong ung dung.",
                    "DVC: a passkey was removed from your account on {changed_date}. If this "
                    "was not you, check it in the app.",
                ),
            ),
        )
    ),
    Template(
        kind="otp",
        audience="phone",
        defaults=frozenset({SMS}),
        title=("Mã xác thực", "Verification code"),
        body=("Mã xác thực của bạn là {code}.", "Your verification code is {code}."),
        sms=(
            "DVC: ma xac thuc cua ban la {code}, hieu luc {minutes} phut. "
            "Khong chia se ma nay cho bat ky ai.",
            "DVC: your verification code is {code}, valid for {minutes} minutes. "
            "Do not share it with anyone.",
        ),
        secret=True,
        always=frozenset({SMS}),
        choosable=False,
        urgent=True,
    ),
    Template(
        kind="otp.feedback",
        audience="phone",
        defaults=frozenset({SMS}),
        title=("Mã xác nhận số điện thoại", "Phone confirmation code"),
        body=(
            "Mã xác nhận để gửi phản ánh, kiến nghị là {code}.",
            "Your code to send feedback is {code}.",
        ),
        sms=(
            "DVC: ma xac nhan so dien thoai de gui phan anh, kien nghi la {code}, "
            "hieu luc {minutes} phut. Khong chia se ma nay cho bat ky ai.",
            "DVC: your code to send feedback is {code}, valid for {minutes} minutes. "
            "Do not share it with anyone.",
        ),
        secret=True,
        always=frozenset({SMS}),
        choosable=False,
        urgent=True,
    ),
]

TEMPLATES: dict[str, Template] = {
    template.kind: template for template in [*_TEMPLATES, *_COUNTER_TEMPLATES]
}


# The kinds whose channels a person may choose, for the document: citizens see theirs in
# GET /me/notification-preferences, staff theirs.
CHOOSABLE_KINDS = sorted(
    kind for kind, t in TEMPLATES.items() if t.choosable and t.audience in ("citizen", "staff")
)


def template_for(kind: str) -> Template:
    try:
        return TEMPLATES[kind]
    except KeyError:
        raise UnknownKind(f"no notification template for kind {kind!r}") from None


def check_data(template: Template, data: dict[str, Any], *, stored: bool = False) -> None:
    """Every field the texts need; a row written earlier may lack the kind's ``later`` ones."""
    missing = sorted(template.fields - set(data) - (template.later if stored else frozenset()))
    if missing:
        raise MissingData(f"{template.kind} needs data fields {', '.join(missing)}")


def _shown(name: str, value: Any) -> str:
    if name.endswith("_date") and isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    return str(value)


def render(kind: str, data: dict[str, Any], language: str) -> Rendered:
    """The texts of a kind in ``language`` (``vi`` or ``en``; anything else reads Vietnamese)."""
    template = template_for(kind)
    check_data(template, data, stored=True)
    index = 1 if language == "en" else 0
    values = {name: "-" for name in template.later}
    values.update((name, _shown(name, value)) for name, value in data.items())
    return Rendered(
        title=template.title[index].format_map(values),
        body=template.body[index].format_map(values),
        sms=template.sms[index].format_map(values),
        link=template.link.format_map(values) if template.link else None,
    )
