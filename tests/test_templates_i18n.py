"""The template editor in Chinese: its page, plain syntax errors (with their line) and
missing-variable messages in zh_Hans_CN and zh_Hant_TW, and render errors made far from
any reader (the budget's child process) put into words where they are shown.

The Chinese assertions read the merged catalogs in ``portal/translations``.
"""

import pytest

from portal.auth.models import User
from portal.extensions import db
from portal.templates_.render import TemplateRenderError, render_template_parts
from portal.templates_.wording import syntax_problems
from tests.conftest import HX, login

PAGE = {
    "zh_Hans_CN": ("新建模板", "保存模板", "主题", "名称", "预览"),
    "zh_Hant_TW": ("新增範本", "儲存範本", "主旨", "名稱", "預覽"),
}
UNCLOSED = {  # "{{ name" left open on line 2 of the HTML body
    "zh_Hans_CN": "HTML 正文第 2 行：变量的 {{ 缺少对应的 }}。",
    "zh_Hant_TW": "HTML 內文第 2 行：變數的 {{ 缺少對應的 }}。",
}
MISSING = {
    "zh_Hans_CN": "缺少变量“name”：请提供该变量，或将其从主题中删除。",
    "zh_Hant_TW": "缺少變數「name」：請提供此變數，或將其從主旨中移除。",
}
BROKEN = {"name": "Welcome", "team_id": "", "subject": "Hi {{ name }}",
          "html_body": "<p>Hello</p>\n<p>{{ name </p>", "text_body": ""}


def _speaks(app, user_id: int, locale: str) -> None:
    with app.app_context():
        db.session.get(User, user_id).locale = locale
        db.session.commit()


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "zh_Hant_TW"])
def test_editor_page_in_chinese(app, client, world, locale):
    _speaks(app, world["root"], locale)
    login(client, "root")
    page = client.get("/templates/new").get_data(as_text=True)
    for words in PAGE[locale]:
        assert words in page
    assert "Save template" not in page and "Sample values" not in page
    listing = client.get("/templates").get_data(as_text=True)
    assert ("模板" if locale == "zh_Hans_CN" else "範本") in listing


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "zh_Hant_TW"])
def test_syntax_error_in_chinese_on_save_and_in_preview(app, client, world, locale):
    _speaks(app, world["root"], locale)
    login(client, "root")
    saved = client.post("/templates/new", data=BROKEN, headers=HX)
    assert saved.status_code == 422
    assert UNCLOSED[locale] in saved.get_data(as_text=True)
    preview = client.post("/templates/preview", data=BROKEN, headers=HX)
    assert UNCLOSED[locale] in preview.get_data(as_text=True)


@pytest.mark.parametrize("locale", ["zh_Hans_CN", "zh_Hant_TW"])
def test_missing_variable_in_chinese_in_preview(app, client, world, locale):
    _speaks(app, world["root"], locale)
    login(client, "root")
    data = {**BROKEN, "html_body": "<p>{{ name }}</p>", "preview_variables": ""}
    body = client.post("/templates/preview", data=data, headers=HX).get_data(as_text=True)
    assert MISSING[locale] in body


@pytest.mark.parametrize("language, expected", [
    ("zh-CN", MISSING["zh_Hans_CN"]), ("zh-TW", MISSING["zh_Hant_TW"]),
    ("en", "The variable “name” is missing: supply it or remove it from the subject.")])
def test_render_error_from_the_child_process_is_worded_where_shown(app, language, expected):
    with pytest.raises(TemplateRenderError) as caught:
        render_template_parts("Hi {{ name }}", "<p>x</p>", None, {})
    assert caught.value.field == "subject" and caught.value.missing == "name"
    with app.test_request_context(headers={"Accept-Language": language}):
        assert caught.value.message == expected


def test_without_a_reader_messages_are_english(app):
    problems = syntax_problems("Hi", "<p>Hello</p>\n<p>{{ name </p>", None)
    assert problems == {"html_body": "Line 2 of the HTML body: a variable’s {{ is not "
                                     "closed with }}."}
    with app.test_request_context(headers={"Accept-Language": "zh-TW"}):
        assert syntax_problems("Hi", "{% endfro %}", None) == {"html_body": (
            "HTML 內文第 1 行：{% endfro %} 不是已知的標籤；您是要寫 {% endfor %} 嗎？")}
