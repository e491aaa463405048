"""Every kind has its words in both languages; SMS texts fit one GSM-7 message."""

from __future__ import annotations

import pytest

from backend.notifications.templates import TEMPLATES, UnknownKind, render, template_for

SAMPLE = {
    "code": "000.00.17.H56-261130-0001",
    "dossier_id": "01JDOSSIER0000000000000001",
    "feedback_id": "01JFEEDBACK000000000000001",
    "new_due_date": "2026-12-24",
    "due_date": "2026-12-24",
    "due_soon": 120,
    "overdue": 35,
    "minutes": 5,
    "name": "Điện thoại của tôi",
    "changed_date": "2026-12-03",
}
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_kind_renders_and_its_sms_fits(kind, language):
    code = "123456" if kind.startswith("otp") else SAMPLE["code"]
    text = render(kind, {**SAMPLE, "code": code}, language)
    assert text.title and text.body and text.sms
    assert "{" not in text.body + text.sms
    assert set(text.sms) <= GSM7 and len(text.sms) <= 160, text.sms


def test_dossier_kinds_link_into_the_app_and_show_dates_the_vietnamese_way():
    text = render("dossier.due_date_extended", SAMPLE, "vi")
    assert text.link == "dvc://dossiers/01JDOSSIER0000000000000001"
    assert "24/12/2026" in text.body and "Xin loi" in text.sms


def test_the_required_kinds_are_all_there():
    dossier = {
        f"dossier.{k}"
        for k in [
            "submitted",
            "accepted",
            "refused",
            "processing",
            "supplement_requested",
            "resubmitted",
            "fees_due",
            "decided",
            "returned",
            "withdrawn",
            "stopped",
            "due_date_extended",
        ]
    }
    counter = {
        f"dossier.counter_{k}"
        for k in ["received", "supplement_requested", "fees_due", "decided", "due_date_extended"]
    }
    others = {
        "feedback.answered",
        "feedback.answered_phone",
        "officer.digest",
        "officer.feedback_digest",
        "otp",
        "otp.feedback",
        "account.passkey_added",
        "account.passkey_removed",
    }
    assert dossier | counter | others == set(TEMPLATES)


def test_a_code_goes_only_by_sms_and_cannot_be_chosen_otherwise():
    otp = template_for("otp")
    assert {c.value for c in otp.defaults} == {"sms"} and not otp.choosable and otp.secret


def test_counter_applicants_are_only_texted():
    for kind in [k for k in TEMPLATES if k.startswith("dossier.counter_")]:
        template = template_for(kind)
        assert template.audience == "phone" and {c.value for c in template.defaults} == {"sms"}
        assert not template.choosable and template.link is None


def test_unknown_kind_raises():
    with pytest.raises(UnknownKind):
        template_for("dossier.lost")
