"""The dashboard under attack (issue 14, items 5, 6 and 13): an outsider cannot lock a colleague out,
a refusal costs the same whoever was named, signing out ends the session on the server, odd filter
values never give 500, and HTTPS responses carry HSTS.
"""
from __future__ import annotations

import hashlib

import pytest

from bot.dashboard import auth
from bot.extensions import get_services
from services import staff as staff_service
from services.models import Staff
from tests.conftest import make_app
from tests.helpers import body, sign
from tests.staff_helpers import PASSWORD, listed, login, make_staff, post, signed_in, svc

ATTACKER, EOC_DESK, OTHER_DESK = "203.0.113.9", "198.51.100.7", "198.51.100.8"


def at(address: str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": address}}


# -- item 5: slow down, never lock out ----------------------------------------------------------

def test_an_outsider_cannot_lock_the_eoc_out(app, office):
    attacker = app.test_client()
    statuses = [login(attacker, "eoc", f"guess-{i}", **at(ATTACKER)).status_code for i in range(12)]
    assert statuses[:auth.PAIR_FREE] == [200] * auth.PAIR_FREE          # wrong, wrong, ...
    assert set(statuses[auth.PAIR_FREE:]) == {429}                       # then it must wait
    resp = login(attacker, "eoc", PASSWORD, **at(ATTACKER))             # even with the right password
    assert resp.status_code == 429 and 0 < int(resp.headers["Retry-After"]) <= auth.PAIR_MAX_DELAY_S
    # the duty officer at her own desk is let in at once, and nothing is locked in the database
    assert login(app.test_client(), "eoc", **at(EOC_DESK)).status_code == 302
    with svc(app).db.session() as s:
        member = s.get(Staff, office["staff"]["eoc"])
        assert member.locked_until is None


def test_the_delay_grows_for_one_account_and_address_and_a_success_clears_it(app, office):
    redis = svc(app).redis
    with app.app_context():
        pair = auth.pair_keys(ATTACKER, "road")
    client = app.test_client()
    for i in range(auth.PAIR_FREE):
        assert login(client, "road", f"guess-{i}", **at(ATTACKER)).status_code == 200
    waits = []
    for _ in range(3):
        wait_key = pair[1]
        waits.append(redis.ttl(wait_key))
        assert login(client, "road", "guess", **at(ATTACKER)).status_code == 429
        redis.delete(wait_key)                                            # the wait is over
        assert login(client, "road", "guess-again", **at(ATTACKER)).status_code == 200
    assert waits[0] > 0 and waits[0] < waits[1] < waits[2] <= auth.PAIR_MAX_DELAY_S
    assert all(0 < redis.ttl(k) for k in redis.keys(auth.KEY_PREFIX + "*"))  # every key expires
    # another account from the same address is not slowed by it
    assert login(app.test_client(), "admin", **at(ATTACKER)).status_code == 302
    # the right password once the wait is over clears the pair's count
    redis.delete(pair[1])
    assert login(app.test_client(), "road", **at(ATTACKER)).status_code == 302
    assert not redis.exists(*pair)


def test_login_attempts_are_limited_per_address(app, office, monkeypatch):
    monkeypatch.setattr(auth, "ADDRESS_LIMIT", 6)
    client = app.test_client()
    for i in range(6):
        assert login(client, f"guess{i}", "wrong-password", **at(ATTACKER)).status_code == 200
    resp = login(client, "admin", **at(ATTACKER))                      # spraying from one address waits
    assert resp.status_code == 429 and "登入嘗試太多次" in resp.get_data(as_text=True)
    assert int(resp.headers["Retry-After"]) > 0
    assert login(app.test_client(), "admin", **at(EOC_DESK)).status_code == 302


def test_many_addresses_cannot_lock_an_account_for_its_usual_desk(app, office, monkeypatch):
    monkeypatch.setattr(auth, "ACCOUNT_LIMIT", 8)
    assert login(app.test_client(), "civil", **at(EOC_DESK)).status_code == 302   # her usual desk
    for i in range(8):                                                    # a botnet, two guesses each
        for j in range(2):
            login(app.test_client(), "civil", f"guess-{i}-{j}", **at(f"192.0.2.{i + 1}"))
    assert login(app.test_client(), "civil", **at("192.0.2.200")).status_code == 429  # a new address waits
    assert login(app.test_client(), "civil", **at(EOC_DESK)).status_code == 302       # her desk does not


def test_the_client_address_comes_from_the_trusted_proxy_only(sqlite_url, redis_url, fake_line, tmp_path):
    proxied = make_app(sqlite_url, redis_url, fake_line, tmp_path, TRUSTED_PROXIES=1)
    make_staff(proxied, "eoc", "eoc")
    attacker = proxied.test_client()
    for i in range(auth.PAIR_FREE):
        login(attacker, "eoc", f"guess-{i}", headers={"X-Forwarded-For": ATTACKER})
    assert login(attacker, "eoc", "guess", headers={"X-Forwarded-For": ATTACKER}).status_code == 429
    # behind the same proxy, the colleague's own address is another pair
    assert login(proxied.test_client(), "eoc", headers={"X-Forwarded-For": EOC_DESK}).status_code == 302
    get_services(proxied).close()

    direct = make_app(sqlite_url, redis_url, fake_line, tmp_path, TRUSTED_PROXIES=0)
    get_services(direct).redis.flushdb()
    attacker = direct.test_client()
    for i in range(auth.PAIR_FREE):                                       # a forged header changes nothing
        login(attacker, "eoc", f"guess-{i}", headers={"X-Forwarded-For": f"10.9.9.{i}"})
    assert login(attacker, "eoc", "guess", headers={"X-Forwarded-For": "10.9.9.99"}).status_code == 429
    get_services(direct).close()


@pytest.fixture
def scrypt_calls(monkeypatch):
    """Counts scrypt computations (each verify or new hash is one)."""
    calls = []
    real = hashlib.scrypt

    def counting(*args, **kw):
        calls.append(1)
        return real(*args, **kw)
    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


def test_unknown_known_inactive_and_locked_names_cost_the_same_to_refuse(app, office, scrypt_calls):
    staff_service.dummy_hash()                                           # made once per process
    with svc(app).db.session() as s:
        s.get(Staff, office["staff"]["eoc"]).active = False
        locked = s.get(Staff, office["staff"]["civil"])                  # a lock left by the old rules
        locked.locked_until = staff_service.utcnow() + staff_service.dt.timedelta(minutes=10)
    work = {}
    for name in ("nobody", "road", "eoc", "civil"):
        scrypt_calls.clear()
        with svc(app).db.session() as s:
            assert staff_service.authenticate(s, name, "not-the-password") is None
        work[name] = len(scrypt_calls)
    assert work == {"nobody": 1, "road": 1, "eoc": 1, "civil": 1}
    # and through the login page, an unknown name and a wrong password do the same work
    for name in ("nobody", "road"):
        scrypt_calls.clear()
        assert login(app.test_client(), name, "not-the-password", **at(OTHER_DESK)).status_code == 200
        work[name] = len(scrypt_calls)
    assert work["nobody"] == work["road"] == 1


# -- item 6: signing out ends the session on the server -----------------------------------------

def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def test_signing_out_ends_a_copied_session_cookie_too(app, office):
    c = signed_in(app, "road")
    thief = copy_of(app, c)
    assert thief.get("/staff/cases").status_code == 200
    post(c, "/staff/logout", {}, page="/staff/cases")
    assert c.get("/staff/cases").status_code == 302
    assert thief.get("/staff/cases").status_code == 302                 # the copy is dead as well
    assert signed_in(app, "road").get("/staff/cases").status_code == 200  # a new sign-in works


def test_a_password_change_ends_other_sessions_and_copies_of_them(app, office):
    c = signed_in(app, "road")
    elsewhere = signed_in(app, "road")
    copy = copy_of(app, elsewhere)
    resp = post(c, "/staff/password", {"current_password": PASSWORD, "new_password": "a-brand-new-pass",
                                       "new_password2": "a-brand-new-pass"})
    assert resp.status_code == 302
    assert c.get("/staff/cases").status_code == 200
    assert elsewhere.get("/staff/cases").status_code == 302 and copy.get("/staff/cases").status_code == 302


def test_the_webhook_never_loads_a_staff_member(app, client, office, monkeypatch):
    calls = []
    real = app.login_manager._user_callback
    monkeypatch.setattr(app.login_manager, "_user_callback", lambda uid: calls.append(uid) or real(uid))
    c = signed_in(app, "road")
    calls.clear()
    raw = body()
    resp = c.post("/callback", data=raw, headers={"X-Line-Signature": sign(raw), "Content-Type": "application/json"})
    assert resp.status_code == 200 and calls == [] and "Set-Cookie" not in resp.headers


# -- item 13: odd filter values, HSTS ------------------------------------------------------------

ODD_ARGS = ["assignee=²", "assignee=99999999999999999999999999", "assignee=-1", "assignee=٣",
            "date_from=0001-01-01", "date_to=9999-12-31", "date_from=2026-02-30", "page=²",
            "page=99999999999999999999999", "kind=%00", "q=%00%00", "village=%FF", "status=new%00",
            "overdue=²", "category=" + "x" * 5000]
LIST_URLS = ["/staff/cases", "/staff/cases/map", "/staff/cases/map.json", "/staff/cases/export.csv",
             "/staff/cases/export.xlsx"]


@pytest.mark.parametrize("query", ODD_ARGS)
def test_odd_filter_values_are_ignored_never_a_server_error(app, office, query):
    c = signed_in(app, "admin")
    for url in LIST_URLS:
        resp = c.get(f"{url}?{query}")
        assert resp.status_code == 200, (url, query, resp.status_code)
    assert listed(c, "?" + query) == set(office["cases"].values())     # the odd filter is dropped


def test_odd_ids_and_addresses_in_other_dashboard_urls_are_not_server_errors(app, office):
    c = signed_in(app, "admin")
    huge = "9" * 30
    for url in (f"/staff/media/{huge}", f"/staff/cases/R-20261127-{huge}", "/staff/audit?page=²&action=%00",
                "/staff/questions?show=²&page=" + huge):
        assert c.get(url).status_code in (200, 404), url
    for url in (f"/staff/questions/{huge}/done", f"/staff/staff/{huge}/active", f"/staff/staff/{huge}/reset"):
        assert post(c, url, {}, page="/staff/cases").status_code in (400, 404), url
    assert c.get("/staff/login?next=http://[::1").status_code in (200, 302)


def test_hsts_only_over_https(app, office):
    c = signed_in(app, "admin")
    plain = c.get("/staff/cases")
    assert "Strict-Transport-Security" not in plain.headers
    secure = c.get("/staff/cases", base_url="https://localhost")
    hsts = secure.headers["Strict-Transport-Security"]
    assert "max-age=" in hsts and int(hsts.split("max-age=")[1].split(";")[0]) >= 31536000
    assert "Strict-Transport-Security" in app.test_client().get("/staff/login", base_url="https://localhost").headers
    app.config["PUBLIC_BASE_URL"] = "https://bot.zuozhen.example"      # TLS ends at the proxy
    assert "Strict-Transport-Security" in app.test_client().get("/staff/login").headers
    assert "Strict-Transport-Security" in app.test_client().get("/healthz").headers
