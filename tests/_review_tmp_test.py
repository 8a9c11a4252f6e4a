import pytest
from tests.conftest import login
FORM = {"display_name": "Red Agent", "locale": "", "timezone": ""}

@pytest.fixture
def client(app):
    return app.test_client()

@pytest.mark.parametrize("zone", ["right/UTC", "posixrules", "localtime", "Factory"])
def test_zone(app, client, world, zone):
    login(client, "red_agent")
    r = client.post("/profile", data={**FORM, "timezone": zone})
    print(zone, "POST", r.status_code)
    r2 = client.get("/")
    print(zone, "GET /", r2.status_code)
    assert r2.status_code == 200

@pytest.mark.parametrize("accept", ["zh-;q=abc", "zh-", "-", ";;;", "zh;q=0.5, *;q=1", "zh-Hant-;q=1", "_", "zh__TW"])
def test_accept(client, accept):
    r = client.get("/login", headers={"Accept-Language": accept})
    print(accept, r.status_code)
    assert r.status_code == 200

@pytest.mark.parametrize("target", ["/\t/evil.com", "/\\evil.com", "\\\\evil.com", " //evil.com", "/%2F/evil.com", "/\x00/evil.com", "https:/evil.com", "/\u3002/evil.com"])
def test_next(client, target):
    r = client.get("/language/zh_Hans_CN", query_string={"next": target})
    print(repr(target), r.status_code, r.headers.get("Location"))

@pytest.mark.parametrize("zone", ["right/UTC", "localtime"])
def test_zone_pages(app, client, world, zone):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login(client, "red_agent")
    client.post("/profile", data={**FORM, "timezone": zone})
    for url in ["/", "/records/", "/records", "/profile", "/records/export.csv", "/audit"]:
        r = client.get(url)
        print(zone, url, r.status_code)
