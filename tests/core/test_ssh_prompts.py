"""How the connection service answers a transport's prompts (ssh's, through the askpass
bridge): a password prompt takes the usual road to the site's password (URL, netrc,
keyring, the password prompt), found only when ssh asks; a prompt from another host (a
ProxyJump host) never gets the site's password; anything else goes to the ``ask``
callback, and with none it fails as one line of AuthFailed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.connection import ConnectionService
from tui.errors import AuthFailed
from tui.remote.base import OTHER_HOST_PROMPT
from tui.sites import Site


def test_a_password_prompt__is_answered_with_the_urls_password_without_asking_anyone():
    site = Site("h.example", 22, user="bob", password="s3cret")
    asked: list[str] = []
    service = ConnectionService(password_prompt=lambda s: asked.append("prompt") or "no")
    assert service._asker(site)("bob@h.example's password: ", False) == "s3cret"
    assert asked == []


def test_a_password_prompt_with_no_user_known__takes_the_user_ssh_names():
    site = Site("alias", 22)
    service = ConnectionService(password_prompt=lambda s: f"pw-for-{s.user}")
    assert service._asker(site)("deploy@10.0.0.5's password:", False) == "pw-for-deploy"
    assert site.user == "deploy"


def test_a_keyboard_interactive_password_prompt__names_its_user_in_brackets():
    site = Site("alias", 22)
    service = ConnectionService(password_prompt=lambda s: f"pw-for-{s.user}")
    assert service._asker(site)("(ops@alias) Password:", False) == "pw-for-ops"


def test_a_prompt_from_another_host__never_gets_the_sites_password():
    site = Site("h.example", 22, user="bob", password="s3cret")
    seen: list[str] = []
    service = ConnectionService(ask=lambda prompt, echo: seen.append(prompt) or "jump-pw")
    prompt = OTHER_HOST_PROMPT + "bob@jump's password:"
    assert service._asker(site)(prompt, False) == "jump-pw" and seen == [prompt]
    with pytest.raises(AuthFailed, match="nobody can answer"):
        ConnectionService()._asker(site)(prompt, False)


def test_a_passphrase_or_code_prompt__goes_to_ask_or_fails_in_one_line():
    site = Site("h.example", 22, user="bob", password="s3cret")
    service = ConnectionService(ask=lambda prompt, echo: f"answer to {prompt}")
    assert service._asker(site)("Verification code:", False) == "answer to Verification code:"
    with pytest.raises(AuthFailed) as refused:
        ConnectionService()._asker(site)("Enter passphrase for key '/k':", False)
    assert "\n" not in str(refused.value) and "s3cret" not in str(refused.value)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_prompt_text__is_answered_or_refused_as_auth_failed(prompt):
    site = Site("h.example", 22)
    service = ConnectionService(password_prompt=lambda s: "pw")
    try:
        answer = service._asker(site)(prompt, False)
    except AuthFailed as error:
        assert "\n" not in str(error) and "\r" not in str(error)
    else:
        assert answer == "pw" and site.user is not None
