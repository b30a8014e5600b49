#!/usr/bin/python3
"""A WHIP (RFC 9725) publisher on GStreamer's webrtcbin: a test pattern (VP8)
and a tone (opus) into a room of the node.

    tools/whip_publish.py URL TOKEN [--seconds N]

URL is the WHIP endpoint (http://127.0.0.1:8080/whip/ROOMCODE), TOKEN a room
member's access token or an ingest key. Debian 12's GStreamer (1.22) has no
whipsink, so this does the HTTP exchange itself: POST the offer, apply the
answer, and DELETE the session's Location when told to stop (SIGINT, SIGTERM,
or after --seconds). One line per event on stdout: "created LOCATION",
"connected", "deleted STATUS", or "error: ..." (exit 1).

Uses Debian's python3-gi (run it with /usr/bin/python3) and, so that ICE
works on loopback, adds 127.0.0.1 to webrtcbin's libnice agent.
"""
import argparse
import signal
import sys
import urllib.error
import urllib.parse
import urllib.request

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("Nice", "0.1")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC, Nice  # noqa: E402

PIPELINE = (
    "webrtcbin name=pc bundle-policy=max-bundle "
    "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1 "
    "! videoconvert ! vp8enc deadline=1 keyframe-max-dist=30 target-bitrate=300000 "
    "! rtpvp8pay pt=96 ! application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000 "
    "! pc. "
    "audiotestsrc is-live=true wave=sine freq=440 ! audioconvert ! audioresample "
    "! opusenc ! rtpopuspay pt=111 "
    "! application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000 ! pc. "
)


def say(line):
    print(line, flush=True)


class Publisher:
    def __init__(self, url, token, seconds):
        self.url = url
        self.token = token
        self.location = None
        self.loop = GLib.MainLoop()
        self.exit_code = 0
        self.pipe = Gst.parse_launch(PIPELINE)
        self.pc = self.pipe.get_by_name("pc")
        self.pc.connect("on-negotiation-needed", self.on_negotiation_needed)
        self.pc.connect("notify::ice-connection-state", self.on_ice_state)
        self.add_loopback()
        bus = self.pipe.get_bus()
        bus.add_signal_watch()
        bus.connect("message::error", self.on_error)
        for sig in (signal.SIGINT, signal.SIGTERM):
            GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, self.stop)
        if seconds > 0:
            GLib.timeout_add_seconds(seconds, self.stop)

    def add_loopback(self):
        # libnice gathers no loopback address unless told to. The ICE object
        # is kept referenced for the pipeline's life: the property hands it
        # out without a reference of its own on 1.22.
        self.ice = self.pc.get_property("ice-agent")
        agent = self.ice.get_property("agent")
        addr = Nice.Address()
        addr.set_from_string("127.0.0.1")
        if not agent.add_local_address(addr):
            say("# 127.0.0.1 not added to the ICE agent")

    def fail(self, why):
        say(f"error: {why}")
        self.exit_code = 1
        self.stop()

    def on_error(self, _bus, msg):
        err, dbg = msg.parse_error()
        self.fail(f"{err.message} ({dbg})")

    def on_ice_state(self, pc, _pspec):
        state = pc.get_property("ice-connection-state")
        if state in (
            GstWebRTC.WebRTCICEConnectionState.CONNECTED,
            GstWebRTC.WebRTCICEConnectionState.COMPLETED,
        ):
            say("connected")
        elif state == GstWebRTC.WebRTCICEConnectionState.FAILED:
            self.fail("ICE failed")

    def on_negotiation_needed(self, pc):
        promise = Gst.Promise.new_with_change_func(self.on_offer, pc, None)
        pc.emit("create-offer", None, promise)

    def on_offer(self, promise, pc, _data):
        promise.wait()
        reply = promise.get_reply()  # owns the offer: keep it while the offer is used
        offer = reply.get_value("offer")
        pc.emit("set-local-description", offer, Gst.Promise.new())
        # An ICE-lite node needs no candidates of ours: it learns our address
        # from our checks, so the offer goes at once.
        GLib.idle_add(self.post, offer.sdp.as_text())

    def post(self, sdp):
        req = urllib.request.Request(
            self.url,
            data=sdp.encode(),
            method="POST",
            headers={"Content-Type": "application/sdp", "Authorization": f"Bearer {self.token}"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                if res.status != 201:
                    self.fail(f"POST answered {res.status}")
                    return False
                self.location = urllib.parse.urljoin(self.url, res.headers["Location"])
                answer_sdp = res.read().decode()
        except urllib.error.HTTPError as e:
            self.fail(f"POST answered {e.code}: {e.read().decode(errors='replace')}")
            return False
        except OSError as e:
            self.fail(f"POST failed: {e}")
            return False
        say(f"created {self.location}")
        ok, msg = GstSdp.SDPMessage.new_from_text(answer_sdp)
        if ok != GstSdp.SDPResult.OK:
            self.fail("the answer is not SDP")
            return False
        answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, msg)
        self.pc.emit("set-remote-description", answer, Gst.Promise.new())
        return False

    def stop(self):
        if self.location:
            req = urllib.request.Request(
                self.location, method="DELETE", headers={"Authorization": f"Bearer {self.token}"}
            )
            try:
                with urllib.request.urlopen(req, timeout=5) as res:
                    say(f"deleted {res.status}")
            except urllib.error.HTTPError as e:
                say(f"deleted {e.code}")
            except OSError as e:
                say(f"# DELETE failed: {e}")
            self.location = None
        self.loop.quit()
        return False

    def run(self):
        self.pipe.set_state(Gst.State.PLAYING)
        self.loop.run()
        self.pipe.set_state(Gst.State.NULL)
        return self.exit_code


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("--seconds", type=int, default=0, help="stop after this long (0: on a signal)")
    args = ap.parse_args()
    Gst.init(None)
    if not Gst.ElementFactory.find("webrtcbin"):
        say("error: no webrtcbin (tools/deps.sh installs gstreamer1.0-plugins-bad)")
        return 1
    return Publisher(args.url, args.token, args.seconds).run()


if __name__ == "__main__":
    sys.exit(main())
