#!/usr/bin/env python3
"""shoal's EBT core against the reference: each scenario below is driven through shoal's pure
reducer (ebt_trace, the C tool) and through epidemic-broadcast-trees' own reducer (events.js,
v3.js: 9.0.4, the version ssb-ebt 9.1.2 runs; ebt_reference.js), and what each makes us write to
each peer, step by step, must agree.

A step is one input event (a message appended, a feed followed, a peer connecting, a notes
object or a message coming from it, its leaving, a tick). What a step makes us write is read as
a set of lines, so that the two encodings of the same behaviour compare equal:
    notes P B=6      our note on feed B to peer P (all the notes one peer is written in a step
                     are one object: the reference batches them in peers[id].notes until the
                     stream writes them; shoal writes one NOTES effect a peer a call)
    notes P {}       an empty notes object
    send P B 2..3    messages 2 to 3 of B sent to P (the reference's one by one, shoal's ranges)
    clock P B=3      P's clock, kept when it left (empty: clock P {})
    error            the event was refused (thrown, or an error code)
Whether notes or messages go first within a step is not compared.

Where the two genuinely differ, the difference is listed in DIVERGENCES with the reason and the
reference's source line; the test fails on any other difference, and on a listed one that is no
longer seen (the table is kept true).

    meson test -C build-ci test_ebt_trace
    python3 tests/ebt/test_ebt_trace.py EBT_TRACE ebt_reference.js MODULES [--show NAME]
(--show prints both traces of one scenario, step by step.) SHOAL_TEST_CASES=a_name,... runs
only those."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from clitest import CASES, main  # noqa: E402

TRACE, REFERENCE, MODULES = (os.path.abspath(a) for a in sys.argv[1:4])


# ---- scenario steps: feeds and peers are letters; we are S; peer P's own feed is P ----------

def have(feed, seq, t=None):
    return step(t, ev="have", feed=feed, seq=seq)


def follow(feed, on=True, t=None):
    return step(t, ev="follow", feed=feed, follow=on)


def connect(peer, client, clock=None, t=None):
    """clock: the peer's clock kept from last time, a dict, or "kept" (its last disconnect's)."""
    return step(t, ev="connect", peer=peer, client=client,
                **({} if clock is None else {"clock": clock}))


def notes(peer, t=None, **values):
    return step(t, ev="notes", peer=peer, notes=values)


def receive(peer, feed, seq, stored=True, t=None):
    return step(t, ev="receive", peer=peer, feed=feed, seq=seq, stored=stored)


def disconnect(peer, t=None):
    return step(t, ev="disconnect", peer=peer)


def tick(t):
    return step(t, ev="tick")


def step(t, **ev):
    if t is not None:
        ev["t"] = t
    return ev


def note(seq, rx):
    """v3's note: seq << 1 | !rx, -1 for "not this feed"."""
    return -1 if seq < 0 else seq << 1 | (0 if rx else 1)


SCENARIOS = {
    # a. We are the server: our first notes name every feed we follow, each at our head, and
    # ask (even notes) the first peer for all of them; then the peer's answer.
    "a_server_first_notes": [
        have("S", 2), have("B", 3), follow("B"), have("C", 5), follow("C"),
        follow("D"),  # followed, nothing held
        connect("P", client=False),
        notes("P", S=note(2, False), B=note(3, False), C=note(7, True), D=note(0, False)),
        receive("P", "C", 6), receive("P", "C", 7),
    ],
    # b. We are the client: nothing until the server's notes; then ours. The peer is ahead on
    # B (only telling), behind on C (asking), level on D, and names X, which we do not follow.
    "b_client_answers": [
        have("B", 3), follow("B"), have("C", 5), follow("C"), have("D", 4), follow("D"),
        connect("P", client=True),
        notes("P", B=note(5, False), C=note(2, True), D=note(4, True), X=note(2, True)),
        receive("P", "B", 4), receive("P", "B", 5),
        have("C", 6), have("D", 5),
    ],
    # c. A peer asks for a feed we are ahead on: the rest is sent, then each message we append
    # (live) until it stops asking; then it hears once that we are further on.
    "c_send_and_live": [
        have("B", 5), follow("B"),
        connect("P", client=False),
        notes("P", S=note(0, True), B=note(2, True)),
        have("B", 6), have("B", 8), have("S", 1),
        notes("P", B=note(8, False)),
        have("B", 9), have("B", 10),
    ],
    # d. Two peers both ahead on B: only one is asked (our even note); the other only hears
    # how far we are, until it says it is further ahead, when it takes over. We follow both
    # peers' own feeds (as one does the peers one connects to).
    "d_partition": [
        have("B", 3), follow("B"), follow("P"), follow("Q"),
        connect("P", client=False), connect("Q", client=False),
        notes("P", S=note(0, False), B=note(10, True), P=note(4, True), Q=note(0, True)),
        notes("Q", S=note(0, False), B=note(12, True), P=note(4, True), Q=note(6, True)),
        receive("Q", "B", 4),
        disconnect("Q"),
    ],
    # d2. The same, but we do not follow the peers' own feeds.
    "d2_partition_peers_not_followed": [
        have("B", 3), follow("B"),
        connect("P", client=False), connect("Q", client=False),
        notes("P", S=note(0, False), B=note(10, True)),
        notes("Q", S=note(0, False), B=note(10, True)),
    ],
    # e. Reconnecting with the peer's kept clock: feeds it held as far as we do when it left are
    # not noted (request skipping); news on one of them is told once; its news asked for.
    "e_request_skipping": [
        have("S", 2), have("B", 3), follow("B"), have("C", 2), follow("C"), follow("D"),
        connect("P", client=False),
        notes("P", S=note(2, False), B=note(3, False), C=note(1, False), D=note(0, False)),
        disconnect("P"),
        connect("P", client=False, clock="kept"),
        have("B", 4), have("B", 5),
        notes("P", B=note(6, False)),
        receive("P", "B", 6),
        disconnect("P"),
    ],
    # e2. The same as a client: our notes wait for the server's.
    "e2_request_skipping_client": [
        have("B", 3), follow("B"), have("C", 2), follow("C"),
        connect("P", client=True, clock={"S": 0, "B": 3, "C": 1}),
        notes("P", C=note(1, False)),
        have("B", 4),
    ],
    # f. A peer says -1 for feeds: for one it was asked for (it is not asked again, nor sent
    # to), for ours, and for one we do not follow; then another peer comes.
    "f_minus_one": [
        have("B", 3), follow("B"), have("C", 2), follow("C"), follow("P"),
        connect("P", client=False),
        notes("P", S=-1, B=-1, C=note(1, True), P=note(0, True), X=-1),
        have("B", 4), have("S", 1), have("C", 3),
        connect("Q", client=False),
        notes("Q", B=note(5, True)),
        disconnect("P"),
    ],
    # f2. Reconnecting to a peer whose kept clock says -1 for a feed.
    "f2_kept_minus_one": [
        have("B", 3), follow("B"),
        connect("P", client=False),
        notes("P", S=note(0, True), B=-1),
        disconnect("P"),
        connect("P", client=False, clock="kept"),
    ],
    # g. We stop following a feed.
    "g_unfollow": [
        have("B", 3), follow("B"),
        connect("P", client=False),
        notes("P", B=note(3, True)),
        follow("B", False),
        have("B", 4),
    ],
    # h. A feed we hold without following it, asked for by a peer.
    "h_held_not_followed": [
        have("C", 2),
        connect("P", client=True),
        notes("P", S=note(0, True), C=note(1, True)),
        have("C", 3),
    ],
    # i. A message that came already (a duplicate) from the peer we asked.
    "i_duplicate": [
        have("B", 3), follow("B"),
        connect("P", client=False),
        notes("P", B=note(6, True)),
        receive("P", "B", 4), receive("P", "B", 4, stored=False),
        receive("P", "B", 5),
    ],
    # j. The peer we asked sends nothing for a stall while another is ahead too: the feed goes
    # to the other. Both run with a 3 s stall (the reference's default timeout).
    "j_stall": [
        have("B", 3), follow("B"), follow("P"), follow("Q"),
        connect("P", client=False), connect("Q", client=False),
        notes("P", B=note(10, True), P=note(0, True), Q=note(0, True)),
        notes("Q", B=note(8, True), P=note(0, True), Q=note(0, True)),
        tick(1000),
        tick(5000),
        receive("Q", "B", 4, t=5500),
    ],
    # k. A message past a gap, from the peer we asked: not stored.
    "k_gap": [
        have("B", 3), follow("B"),
        connect("P", client=False),
        notes("P", B=note(9, True)),
        receive("P", "B", 5, stored=False),
        receive("P", "B", 4), receive("P", "B", 5),
    ],
}
STALL = {"j_stall": 3000}


# ---- expected divergences: (scenario, step, side, line) -> why -------------------------------
# side "shoal": the line only shoal writes; "reference": only the reference does. Line numbers
# are epidemic-broadcast-trees 9.0.4's events.js.

RETELL_EACH = (
    "telling a peer that only listens how far we are: the reference writes a note at every "
    "message we append while the peer's clock is behind ours (events.js:279-282: nothing "
    "records that it was told); shoal tells once (ebt.c have(): told <= remote < seq), and the "
    "peer asks if it wants the rest")
RETELL_RX = (
    "the rx bit of that note: the reference's append always writes it odd (events.js:282 "
    "setNotes(peer, author, sequence, false)), so it stops asking the peer for the feed; shoal "
    "repeats the bit it last told (tell(.., pf->rx)): P stays the peer B comes from")
RENOTE = (
    "the peer's answer shows it behind on a feed it only listens to: the reference writes our "
    "head again though our first notes said the same (events.js:401-403: "
    "setNotes(peer, id, lseq, rep.rx)); shoal writes a note only when it would change "
    "(ebt.c on_note: pf->told < f->have)")
LEAVE_HANDOVER = (
    "the peer we receive B from leaves: shoal asks the peer furthest ahead at once (P: our head "
    "4, even); the reference's disconnect only deletes the peer (events.js:145-148), and as "
    "timeout switches only away from a peer that still holds rep.rx (events.js:425), B is asked "
    "for again only when another peer's notes show it ahead (events.js:377-380)")
PEER_FEED_QUIRK = (
    "partition when we do not follow the peers' own feeds: the reference asks the second peer "
    "too. isAlreadyReplicating counts another peer as a feed's source only when "
    "peer.replicating[id] exists with sent !== -1 (events.js:39-40), id being the peer's id, "
    "i.e. the peer's own feed (events.js:35 likewise reads peer.notes[id]): we do not follow P, "
    "so P is never counted and every peer is asked for every feed; shoal partitions whatever "
    "we follow")
SKIP_OWN = (
    "request skipping and our own feed: shoal always notes it (ebt.c first_notes: pos != 0); "
    "the reference skips it like any feed the kept clock shows in sync (events.js:173)")
SKIP_EMPTY = (
    "request skipping on a followed feed neither side holds (kept 0, our head 0): shoal skips "
    "it; the reference compares the kept 0 with state.clock[id], undefined for a feed we hold "
    "nothing of (ssb-ebt's clock is getVectorClock's, which names only feeds with messages), so "
    "0 !== undefined and it notes D=0 at every reconnect (events.js:173)")
ANSWER_MINUS_ONE = (
    "a -1 for a feed we do not replicate: the reference answers -1, once a session, to any "
    "note on a feed it does not share, a -1 included (events.js:363-364); shoal answers -1 "
    "only to a note that is not -1 itself (ebt.c on_note)")
MINUS_ONE_KEEPS_RX = (
    "a peer says -1 for a feed (and our own) it was asked for: shoal stops asking it (give_rx) "
    "and asks the next peer (even notes); the reference leaves its rep.rx set (events.js:397-"
    "404 only set rep.tx and rep.sent), so isAlreadyReplicating (events.js:40) still counts it "
    "as the feed's source and the next peer only hears (odd notes)")
MINUS_ONE_SWITCH = (
    "follows from step 10: Q says it is ahead; shoal asked Q already; the reference switches "
    "to Q from P, writing P an odd note on a feed P said -1 for (events.js:389-392)")
CLOCK_FOREIGN = (
    "the kept clock: the reference keeps every feed the peer noted (events.js:355 sets "
    "peer.clock[id] before the isShared check at 363), X included, which we do not replicate; "
    "shoal's CLOCK names only feeds it follows or holds (a remote's notes never add a feed)")
KEPT_MINUS_ONE = (
    "reconnecting to a peer whose kept clock says -1 for a feed: the reference leaves the feed "
    "out of its notes (events.js:173: seq !== -1), so the peer is not asked for it this session "
    "unless it notes it itself; shoal notes it (kept -1 is not our head): a peer may have "
    "begun replicating the feed since")
UNFOLLOW = (
    "unfollowing: shoal writes -1 to each peer; the reference writes nothing: events.js:197 "
    "sets state.follows[ev.id] = false before the loop, so line 200's "
    "!isShared(state, ev.id, id) skips every peer and the unfollow branch (212-213) is never "
    "reached; the peer goes on sending the feed, dropped on arrival (events.js:325)")
HELD = (
    "a feed held without being followed: shoal serves it to a peer that asks (as "
    "createHistoryStream serves the store) and notes how far it holds it; the reference "
    "answers -1 (events.js:363-365: not isShared) and never sends it")
HELD_LIVE = "follows from step 2: shoal sends P what it asked for of C live, the reference not"
DUPLICATE = (
    "a duplicate from the peer we receive the feed from: the reference writes it an odd note "
    "at our head (events.js:313-316), which stops that peer sending the feed until its next "
    "notes on it or a timeout with another peer ahead; shoal ignores a duplicate (what follows "
    "it is on its way)")
GAP = (
    "a message past a gap, not stored: shoal asks its sender again from our head (even note); "
    "the reference hands it to the store (events.js:325), whose refusal ssb-ebt ignores "
    "(ssb-ebt formats/base.js:31-34: only err.fatal reaches ebt, and then only to block the "
    "peer): nothing is asked again")

DIVERGENCES = {
    ("c_send_and_live", 8, "shoal", "notes P B=18"): RETELL_RX,
    ("c_send_and_live", 8, "reference", "notes P B=19"): RETELL_RX,
    ("c_send_and_live", 9, "reference", "notes P B=21"): RETELL_EACH,
    ("d_partition", 9, "shoal", "notes P B=8"): LEAVE_HANDOVER,
    ("d2_partition_peers_not_followed", 3, "shoal", "notes Q B=7"): PEER_FEED_QUIRK,
    ("d2_partition_peers_not_followed", 3, "shoal", "notes Q S=1"): PEER_FEED_QUIRK,
    ("d2_partition_peers_not_followed", 3, "reference", "notes Q B=6"): PEER_FEED_QUIRK,
    ("d2_partition_peers_not_followed", 3, "reference", "notes Q S=0"): PEER_FEED_QUIRK,
    ("e_request_skipping", 7, "reference", "notes P C=4"): RENOTE,
    ("e_request_skipping", 9, "shoal", "notes P S=4"): SKIP_OWN,
    ("e_request_skipping", 9, "reference", "notes P D=0"): SKIP_EMPTY,
    ("e_request_skipping", 11, "reference", "notes P B=11"): RETELL_EACH,
    ("f_minus_one", 6, "reference", "notes P X=-1"): ANSWER_MINUS_ONE,
    ("f_minus_one", 10, "shoal", "notes Q B=8"): MINUS_ONE_KEEPS_RX,
    ("f_minus_one", 10, "shoal", "notes Q S=2"): MINUS_ONE_KEEPS_RX,
    ("f_minus_one", 10, "reference", "notes Q B=9"): MINUS_ONE_KEEPS_RX,
    ("f_minus_one", 10, "reference", "notes Q S=3"): MINUS_ONE_KEEPS_RX,
    ("f_minus_one", 11, "reference", "notes P B=9"): MINUS_ONE_SWITCH,
    ("f_minus_one", 11, "reference", "notes Q B=8"): MINUS_ONE_SWITCH,
    ("f_minus_one", 12, "reference", "clock P X=-1"): CLOCK_FOREIGN,
    ("f2_kept_minus_one", 5, "shoal", "notes P B=6"): KEPT_MINUS_ONE,
    ("g_unfollow", 4, "shoal", "notes P B=-1"): UNFOLLOW,
    ("h_held_not_followed", 2, "shoal", "notes P C=5"): HELD,
    ("h_held_not_followed", 2, "shoal", "send P C 2..2"): HELD,
    ("h_held_not_followed", 2, "reference", "notes P C=-1"): HELD,
    ("h_held_not_followed", 3, "shoal", "send P C 3..3"): HELD_LIVE,
    ("i_duplicate", 5, "reference", "notes P B=9"): DUPLICATE,
    ("k_gap", 4, "shoal", "notes P B=6"): GAP,
}


# ---- running and comparing -------------------------------------------------------------------

def run(name):
    """Both traces of a scenario: [(shoal lines, reference lines, raw lines)] a step."""
    scenario = {"self": "S", "steps": SCENARIOS[name]}
    if name in STALL:
        scenario["stall"] = STALL[name]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(scenario, f)
    try:
        shoal = trace([TRACE, f.name])
        ref = trace(["node", REFERENCE, f.name, MODULES])
    finally:
        os.unlink(f.name)
    assert len(shoal) == len(ref) == len(SCENARIOS[name]), \
        f"steps: shoal {len(shoal)}, reference {len(ref)}, scenario {len(SCENARIOS[name])}"
    return shoal, ref


def trace(argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"{argv[0]} exited {p.returncode}: {p.stderr}"
    return [json.loads(line) for line in p.stdout.splitlines()]


def lines(out):
    """One step's output as a set of normalized lines."""
    got = set()
    if "error" in out:
        got.add("error")
    for peer, values in out.get("notes", {}).items():
        got.update(f"notes {peer} {feed}={v}" for feed, v in values.items())
        if not values:
            got.add(f"notes {peer} {{}}")
    for peer, sends in out.get("send", {}).items():
        ranges = {}
        for feed, lo, hi in sends:  # in order: adjacent ones are one range
            r = ranges.setdefault(feed, [])
            if r and r[-1][1] + 1 == lo:
                r[-1][1] = hi
            else:
                r.append([lo, hi])
        got.update(f"send {peer} {feed} {lo}..{hi}" for feed, r in ranges.items() for lo, hi in r)
    for peer, values in out.get("clock", {}).items():
        got.update(f"clock {peer} {feed}={v}" for feed, v in values.items())
        if not values:
            got.add(f"clock {peer} {{}}")
    return got


def describe(ev):
    return " ".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in ev.items())


def compare(name):
    shoal, ref = run(name)
    problems = []
    for i, (s, r, ev) in enumerate(zip(shoal, ref, SCENARIOS[name])):
        s_lines, r_lines = lines(s), lines(r)
        seen = ({("shoal", x) for x in s_lines - r_lines} |
                {("reference", x) for x in r_lines - s_lines})
        expected = {(side, x) for (sc, at, side, x) in DIVERGENCES if (sc, at) == (name, i)}
        if seen == expected:
            continue
        msg = [f"step {i}: {describe(ev)}",
               f"    shoal:     {sorted(s_lines)}" + (f" {s['error']}" if "error" in s else ""),
               f"    reference: {sorted(r_lines)}" + (f" {r['error']}" if "error" in r else "")]
        msg += [f"    unexpected, only in {side}: {x}" for side, x in sorted(seen - expected)]
        msg += [f"    expected divergence not seen, only in {side}: {x}"
                for side, x in sorted(expected - seen)]
        problems.append("\n".join(msg))
    assert not problems, f"{name}: the traces differ\n" + "\n".join(problems)


def show(name):
    shoal, ref = run(name)
    for i, (s, r, ev) in enumerate(zip(shoal, ref, SCENARIOS[name])):
        print(f"step {i}: {describe(ev)}")
        print(f"    shoal:     {sorted(lines(s))}")
        print(f"    reference: {sorted(lines(r))}")
        for (sc, at, side, x), why in DIVERGENCES.items():
            if (sc, at) == (name, i):
                print(f"    expected, only in {side}: {x}: {why}")


def add_case(name):
    def fn():
        compare(name)
    fn.__name__ = name
    CASES.append(fn)


for scenario_name in SCENARIOS:
    add_case(scenario_name)

# every listed divergence names a scenario step that exists
for (sc_name, at, side, _line) in DIVERGENCES:
    assert sc_name in SCENARIOS and 0 <= at < len(SCENARIOS[sc_name]) and \
        side in ("shoal", "reference"), (sc_name, at, side)

if __name__ == "__main__":
    if "--show" in sys.argv:
        show(sys.argv[sys.argv.index("--show") + 1])
    else:
        main("test_ebt_trace")
