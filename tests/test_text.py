from backend.text import fold, like_pattern


def test_fold_removes_case_diacritics_and_extra_spaces():
    assert fold("  Đăng ký   KHAI SINH ") == "dang ky khai sinh"
    assert fold("Cấp Phiếu lý lịch tư pháp") == "cap phieu ly lich tu phap"
    assert fold("Ủy ban nhân dân phường Hồng Gai") == "uy ban nhan dan phuong hong gai"


def test_like_pattern_escapes_wildcards():
    assert like_pattern("50%_a\\b") == "%50\\%\\_a\\\\b%"
