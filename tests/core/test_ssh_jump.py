"""The ProxyJump chain Ferryman builds itself (``tui.remote.sshjump``): ssh's ProxyJump values
read as ssh reads them (users, ports, IPv6, ssh:// URIs; anything else one ConfigError, never
a traceback), and the ProxyCommand for each hop surviving ssh's ``%`` expansion and the
shell intact, however deep the chain and whatever the paths hold; loops bounded."""

from __future__ import annotations

import base64
import re
import shlex

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.errors import AuthFailed, ConfigError, ConnectFailed, FerrymanError
from tui.identity import ON_THE_WAY
from tui.remote import sshjump
from tui.remote.base import SessionSettings
from tui.remote.sshchannel import SSHChannel
from tui.remote.sshexplain import explain_hop
from tui.remote.sshjump import MAX_HOPS, Hop, parse_jump, route
from tui.sites import Site


@pytest.mark.parametrize(
    ("spec", "hops"),
    [
        ("jumphost", [Hop("jumphost")]),
        ("u@jh:2222,v@[::1]:23", [Hop("jh", 2222, "u"), Hop("::1", 23, "v")]),
        ("ssh://v@h2:23", [Hop("h2", 23, "v")]),
        ("SSH://h2/", [Hop("h2")]),
        ("u@x@jh", [Hop("jh", None, "u@x")]),  # the user ends at the last @, as in ssh
        ("[::1]", [Hop("::1")]),
        ("a,b,c", [Hop("a"), Hop("b"), Hop("c")]),
        ("none", []),
        ("NONE", []),
        ("", []),
    ],
)  # fmt: skip
def test_a_proxyjump_value__reads_as_ssh_reads_it(spec, hops):
    assert parse_jump(spec) == hops


@pytest.mark.parametrize(
    "spec", ["jh:0", "jh:65536", "jh:22x", "@jh", "jh:", "[::1", "[::1]x", "[::1]:", "a b",
             "a,,b", "j'h", "%r@jh", "jh:２２"],
)  # fmt: skip
def test_a_proxyjump_value_ssh_would_refuse__is_one_config_error(spec):
    with pytest.raises(ConfigError) as refused:
        parse_jump(spec)
    assert "\n" not in str(refused.value)


def test_a_hops_key__is_the_trust_stores_host_and_port():
    assert [hop.key for hop in parse_jump("jh,u@jh:2200,[::1]:23,[fe80::1]")] == [
        "jh:22", "jh:2200", "[::1]:23", "[fe80::1]:22"]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_proxyjump_text__gives_hops_or_one_config_error(text):
    try:
        hops = parse_jump(text)
    except ConfigError as error:
        assert "\n" not in str(error)
        return
    for hop in hops:
        assert hop.host and not any(c.isspace() for c in hop.host)
        assert hop.port is None or 0 < hop.port <= 65535


NAME = st.text(st.characters(codec="ascii", categories=("L", "N"), include_characters="-._"),
               min_size=1, max_size=12)  # fmt: skip
# "ProxyJump none" (any case) is ssh's keyword for no jump, never a host named "none".
HOST = NAME.filter(lambda name: name.lower() != "none")
HOP = st.builds(Hop, HOST, st.none() | st.integers(1, 65535), st.none() | NAME)


def written(hop: Hop) -> str:
    host = f"[{hop.host}]" if ":" in hop.host else hop.host
    return (f"{hop.user}@" if hop.user else "") + host + (f":{hop.port}" if hop.port else "")


@settings(max_examples=200, deadline=None)
@given(st.lists(HOP, min_size=1, max_size=5))
def test_hops_written_as_ssh_writes_them__read_back_the_same(hops):
    assert parse_jump(",".join(written(hop) for hop in hops)) == hops


def ssh_expands(text: str, host: str, port: str) -> str:
    """What ssh makes of a ProxyCommand's tokens (%% %h %p; any other is an error)."""

    def one(match: re.Match[str]) -> str:
        token = match.group(1)
        if token == "%":
            return "%"
        assert token in "hp", f"ssh would refuse %{token}"
        return host if token == "h" else port

    return re.sub(r"%(.)", one, text)


def hop_argv(command: str, host: str, port: str) -> list[str]:
    """The argv the shell gives a ProxyCommand, after ssh's expansion (``exec`` + it)."""
    return shlex.split(ssh_expands(command, host, port))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(HOP, min_size=1, max_size=3),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20),
)  # fmt: skip
def test_the_proxycommand__reaches_each_hop_with_its_options_intact(hops, odd):
    # A config path with quotes, %, spaces or $: none of it may be read by ssh or the shell.
    base = ["/usr/bin/ssh", "-F", f"/tmp/{odd}'%h\" $HOME/config"]

    def options_for(number: int) -> list[str]:
        return [f'-oKnownHostsCommand="/run/%x/helper" known-hosts %I %H {number}']

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sshjump, "resolved", lambda *args: {})
        made = route(base, {"proxyjump": ",".join(written(hop) for hop in hops)}, options_for)
    assert [hop for hop, _ in made.hops] == hops
    assert made.options[0] == "-oProxyJump=none"
    command = made.options[1].removeprefix("-oProxyCommand=")
    target = ("destination.example", "2022")
    for number in range(len(hops), 0, -1):  # outermost first: the last hop leads to the site
        hop = hops[number - 1]
        argv = hop_argv(command, *target)
        assert argv[: len(base) + 1] == [*base, options_for(number)[0]]
        assert argv[-4:] == ["-W", f"[{target[0]}]:{target[1]}", "--", hop.host]
        assert ("-p" in argv) == (hop.port is not None) and ("-l" in argv) == bool(hop.user)
        inner = [arg for arg in argv if arg.startswith("-oProxyCommand=")]
        assert len(inner) == (1 if number > 1 else 0)
        if inner:
            command = inner[0].removeprefix("-oProxyCommand=")
            target = (hop.host, str(hop.port or 22))


def test_a_jump_host_with_its_own_proxyjump__is_reached_through_that_one(monkeypatch):
    configs = {"jh": {"proxyjump": "bastion"}, "bastion": {"userknownhostsfile": "/k"}}
    monkeypatch.setattr(sshjump, "resolved", lambda base, host, port, user: configs.get(host, {}))
    made = route(["ssh"], {"proxyjump": "jh"}, lambda number: [f"hop{number}"])
    assert [(hop.host, files) for hop, files in made.hops] == [
        ("bastion", ("/k",)), ("jh", sshjump.files_in({}))]  # fmt: skip
    assert "hop1" in made.options[1] and "hop2" in made.options[1]


def test_a_proxyjump_loop__is_one_config_error_not_endless_sshs(monkeypatch):
    configs = {"a": {"proxyjump": "b"}, "b": {"proxyjump": "a"}}
    monkeypatch.setattr(sshjump, "resolved", lambda base, host, port, user: configs[host])
    with pytest.raises(ConfigError, match=f"longer than {MAX_HOPS} hops"):
        route(["ssh"], {"proxyjump": "a"}, lambda number: [])


def test_no_proxyjump__changes_nothing(monkeypatch):
    monkeypatch.setattr(sshjump, "resolved", lambda *args: pytest.fail("no hop to resolve"))
    assert route(["ssh"], {"proxycommand": "nc %h %p"}, lambda number: []) == ([], [], ())
    assert route(["ssh"], {"proxyjump": "none"}, lambda number: []) == ([], [], ())


def test_a_key_request_naming_a_hop_the_channel_lacks__gets_no_answer_and_no_judgement():
    judged: list[tuple[str, object]] = []

    def decider(who):
        return lambda identity: judged.append((who, identity)) is None

    site = Site("behind", 22, protocol="sftp")
    channel = SSHChannel(site, SessionSettings(decider=decider("site")), ["true"],
                         files=("/nowhere",), hops=[(Hop("jh", 2200), ("/nowhere",))],
                         hop_decider=decider("hop"))  # fmt: skip
    try:
        key = base64.b64encode(b"\0\0\0\x0bssh-ed25519\0\0\0\x20" + b"k" * 32).decode()
        request = ["HOSTNAME", "[127.0.0.1]:2200", "ssh-ed25519", "SHA256:x", key]
        for hop in ("0", "2", "01x", "-1", "\u0661", "1 "):
            assert channel._handle("known-hosts", [*request, hop]) is None
        assert judged == []
        assert channel._handle("known-hosts", [*request, "1"]) == " ".join(request[1:3] + [key])
        assert channel._handle("known-hosts", request) is not None
        (who, hop_key), (other, site_key) = judged
        assert (who, hop_key.site, dict(hop_key.details)[ON_THE_WAY]) == ("hop", "jh:2200",
                                                                           "behind:22")
        assert (other, site_key.site, ON_THE_WAY in dict(site_key.details)) == (
            "site", "behind:22", False)  # fmt: skip
    finally:
        channel.close()


def test_trust_on_the_command_line__accepts_the_sites_key_never_a_jump_hosts():
    from tui.errors import CertificateNotTrusted
    from tui.identity import SSH_HOST_KEY, Identity, fingerprint
    from tui.trust import hostkey  # noqa: F401  (registers the host-key rules)
    from tui.trust.policy import TrustPolicy
    from tui.trust.store import TrustStore

    shared = fingerprint(b"one key on both hosts")  # one fingerprint given on --trust
    policy = TrustPolicy(TrustStore(), fingerprints=[shared])
    site = Identity("behind:22", "behind", SSH_HOST_KEY, shared)
    jump = site._replace(site="jh:22", host="jh", details=((ON_THE_WAY, "behind:22"),))
    assert policy.decide(site)
    with pytest.raises(CertificateNotTrusted):
        policy.decide(jump)


@pytest.mark.parametrize(
    ("spec", "hops"),
    [("%r@bastion", [Hop("bastion", None, "bob")]), ("gw-%n", [Hop("gw-behind")]),
     ("%h:%p", [Hop("10.0.0.5", 2022)]), ("bastion", [Hop("bastion")])],
)  # fmt: skip
def test_a_proxyjump_with_tokens__is_expanded_as_ssh_expands_it(spec, hops):
    config = {"proxyjump": spec, "hostname": "10.0.0.5", "port": "2022", "user": "bob"}
    assert sshjump.jumps_of(config, "behind") == hops


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from("%%hnprx@:,ab"), max_size=20))
def test_any_proxyjump_with_percent_signs__gives_hops_or_one_config_error(spec):
    config = {"proxyjump": spec, "hostname": "h", "port": "22", "user": "u"}
    try:
        hops = sshjump.jumps_of(config, "n")
    except ConfigError as error:
        assert "\n" not in str(error)
        return
    assert all("%" not in hop.host for hop in hops)


JUMP = Site("jh", 2200, user="ops", protocol="sftp")


@pytest.mark.parametrize(
    ("logged", "kind", "words"),
    [
        ("channel 0: open failed: connect failed: Connection refused\r\n"
         "stdio forwarding failed\r\n", ConnectFailed,
         "The ProxyJump host jh:2200 could not reach behind:22 on the way to behind:22"),
        ("ops@127.0.0.1: Permission denied (publickey,password).\r\n", AuthFailed,
         "On the way to behind:22 (ProxyJump): ops@jh:2200 refused the login"),
        ("ssh: connect to host 127.0.0.1 port 2200: Connection refused\r\n", ConnectFailed,
         "jh:2200 refused the connection"),
    ],
)  # fmt: skip
def test_what_a_jump_hosts_ssh_logged__is_its_own_error_on_the_way(logged, kind, words):
    error = explain_hop(logged, JUMP, "behind:22", "behind:22")
    assert type(error) is kind and words in str(error) and "\n" not in str(error)


def test_a_jump_hosts_ssh_that_logged_nothing__leaves_the_explaining_to_the_sites():
    assert explain_hop("", JUMP, "behind:22", "behind:22") is None
    assert explain_hop("Warning: Permanently added x\n\n", JUMP, "b:22", "b:22") is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_jump_host_log__is_no_error_or_one_line_of_the_projects_own(text):
    error = explain_hop(text, JUMP, "behind:22", "behind:22")
    assert error is None or (isinstance(error, FerrymanError) and "\n" not in str(error))
