#!/usr/bin/python3
"""
A reference BitTorrent peer built on libtorrent (python3-libtorrent, Debian), used as the anchor
of the interoperability tests (test/interop/) and of `npm run bench -- swarm`.

It runs in its own process so its CPU time and memory are measured apart from BitCDN's, and it
speaks one JSON object per line on stdout so a Node parent can follow it:

  {"event": "listening", "port": N}            once the listen socket is bound
  {"event": "progress", "progress": 0.42, ...} every --interval seconds
  {"event": "done", "cpuSeconds": ..., ...}   downloader: every piece passed its SHA-1 check
  {"event": "error", "message": "..."}        fatal; the exit code is non-zero

Modes:
  get   download into --dir from the --peer addresses (and the torrent's trackers), exit 0 once
        libtorrent reports the torrent seeding, i.e. every piece verified
  seed  serve the data already in --dir until SIGTERM/SIGINT

Only /usr/bin/python3 can import the Debian libtorrent bindings, hence the shebang.
"""
import argparse
import json
import os
import resource
import signal
import sys
import time

try:
    import libtorrent as lt
except ImportError:  # pragma: no cover - the message is the point
    print(json.dumps({"event": "error", "message": "python3-libtorrent is not installed for /usr/bin/python3 (.ci/run installs it)"}), flush=True)
    sys.exit(3)


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def cpu_seconds():
    # user + system of the whole process, every libtorrent thread included
    t = os.times()
    return t.user + t.system


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_session(args):
    settings = lt.high_performance_seed() if args.high_performance else lt.default_settings()
    settings.update({
        # loopback only: no discovery outside the peers we are given
        "listen_interfaces": "127.0.0.1:%d" % args.port,
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        # every test peer is 127.0.0.1; without this libtorrent keeps only one of them
        "allow_multiple_connections_per_ip": True,
        # TCP only, as BitCDN and aria2 speak: libtorrent prefers uTP, whose delay-based
        # congestion control crawls on loopback and would make the anchor meaninglessly slow
        "enable_outgoing_utp": args.utp,
        "enable_incoming_utp": args.utp,
        # trackers on 127.0.0.1 must be announced to even though the address is local
        "announce_to_all_trackers": True,
        "announce_to_all_tiers": True,
        "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
        "user_agent": "bitcdn-anchor/libtorrent-" + lt.__version__,
    })
    return lt.session(settings)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=["get", "seed"])
    p.add_argument("--torrent", required=True, help=".torrent file")
    p.add_argument("--dir", required=True, help="save path (the directory that holds the torrent's name)")
    p.add_argument("--peer", action="append", default=[], help="host:port to connect to (repeatable)")
    p.add_argument("--port", type=int, default=0, help="listen port on 127.0.0.1 (0: any free port)")
    p.add_argument("--high-performance", action="store_true", help="start from lt.high_performance_seed()")
    p.add_argument("--seed-mode", action="store_true", help="seed without checking the data first (trust it)")
    p.add_argument("--utp", action="store_true", help="allow uTP (BEP 29) besides TCP")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between progress lines")
    p.add_argument("--timeout", type=float, default=0, help="give up after this many seconds (0: never)")
    args = p.parse_args()

    stop = {"now": False}

    def on_signal(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    ses = make_session(args)
    info = lt.torrent_info(args.torrent)
    atp = lt.add_torrent_params()
    atp.ti = info
    atp.save_path = args.dir
    if args.seed_mode:
        atp.flags |= lt.torrent_flags.seed_mode
    h = ses.add_torrent(atp)

    # the listen socket is bound asynchronously; wait for the port before telling the parent
    deadline = time.time() + 10
    while ses.listen_port() == 0 and time.time() < deadline:
        time.sleep(0.02)
    emit({"event": "listening", "port": ses.listen_port(), "infoHash": str(info.info_hash())})

    for peer in args.peer:
        host, _, port = peer.rpartition(":")
        h.connect_peer((host, int(port)))

    started = time.time()
    cpu_start = cpu_seconds()
    last_report = 0.0
    last_reconnect = time.time()
    done = False
    while not stop["now"]:
        for a in ses.pop_alerts():
            if isinstance(a, lt.torrent_error_alert) or isinstance(a, lt.file_error_alert):
                emit({"event": "error", "message": a.message()})
                sys.exit(1)
        s = h.status()
        now = time.time()
        if args.mode == "get" and not done and s.is_seeding:
            done = True
            elapsed = now - started
            emit({
                "event": "done",
                "seconds": elapsed,
                "bytes": info.total_size(),
                "cpuSeconds": cpu_seconds() - cpu_start,
                "peakRssBytes": peak_rss_bytes(),
                "downloadedPayload": s.total_payload_download,
            })
            break
        if now - last_report >= args.interval:
            last_report = now
            emit({
                "event": "progress",
                "progress": s.progress,
                "state": str(s.state),
                "peers": s.num_peers,
                "downloadRate": s.download_payload_rate,
                "uploadRate": s.upload_payload_rate,
                "uploaded": s.total_payload_upload,
                "downloaded": s.total_payload_download,
            })
        # a peer that refused us early (still checking, not yet listening) is worth another try
        if args.peer and s.num_peers < len(args.peer) and now - last_reconnect > 2 and not s.is_seeding:
            last_reconnect = now
            for peer in args.peer:
                host, _, port = peer.rpartition(":")
                h.connect_peer((host, int(port)))
        if args.timeout and now - started > args.timeout:
            emit({"event": "error", "message": "timed out after %gs at %.1f%%" % (args.timeout, s.progress * 100)})
            sys.exit(1)
        time.sleep(0.05)

    if args.mode == "seed":
        s = h.status()
        emit({"event": "stopped", "uploaded": s.total_payload_upload, "cpuSeconds": cpu_seconds() - cpu_start})
    ses.pause()
    del ses
    sys.exit(0)


if __name__ == "__main__":
    main()
