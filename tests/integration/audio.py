#!/usr/bin/env python3
"""WAV tools for the media tests (stdlib only).

  audio.py tone OUT.wav HZ SECONDS [--silence-before S] [--silence-after S] [--rate R]
                                   [--amplitude A]
      writes RIFF PCM 16-bit mono (8000 Hz unless --rate); HZ 0 is silence.
  audio.py analyze IN.wav
      prints JSON: rate, channels, duration, and segments of 20 ms frames merged while they stay
      alike: {"start", "end", "kind": "tone"|"silence"|"sound", "hz", "rms"}.
  audio.py has-tone IN.wav HZ MIN_SECONDS [--max S] [--tolerance HZ]
      exits 0 when frames holding HZ add up to at least MIN_SECONDS (and at most --max); prints
      what it found as JSON either way.

A frame's frequency is taken from its zero crossings (interpolated, first to last crossing) and
accepted as a tone only when a Goertzel filter at that frequency holds most of the frame's
energy: cheap enough in pure Python, and exact to a few Hz for the steady tones these tests send
through G.711, whose quantisation noise stays far below that share.

Input may be what umd writes (8 kHz mono 16-bit), what baresip's sndfile module dumps (the
codec's rate: 8 kHz mono for G.711, 16-bit unless a float format is configured), or anything
else PCM 16/24/32-bit or float32, mono or stereo (channels are averaged). The wave module reads
plain PCM; files it refuses (float, WAVE_FORMAT_EXTENSIBLE, or a header never finalised because
the writer was killed or is still recording: umd's spool tmp/ID.wav) are read by walking the
RIFF chunks (fmt, data) directly.
"""
import argparse
import json
import math
import struct
import sys
import wave

FRAME_S = 0.020
SILENCE_RMS = 60.0  # about -55 dBFS: below anything G.711 carries as a tone, above its idle noise
PURITY = 0.6  # share of a frame's energy at its measured frequency for it to count as a tone


def write_tone(path, hz, seconds, rate, amplitude, before, after):
    n_before = int(round(before * rate))
    n_tone = int(round(seconds * rate))
    n_after = int(round(after * rate))
    peak = amplitude * 32767.0
    frames = bytearray()
    frames += b"\0\0" * n_before
    for i in range(n_tone):
        v = int(round(peak * math.sin(2.0 * math.pi * hz * i / rate))) if hz > 0 else 0
        frames += struct.pack("<h", v)
    frames += b"\0\0" * n_after
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


def decode_samples(raw, width, fmt_tag):
    """Little-endian sample bytes to floats in [-32768, 32767]."""
    if fmt_tag == 3:
        if width == 4:
            return [v * 32767.0 for v in struct.unpack("<%df" % (len(raw) // 4), raw[: len(raw) // 4 * 4])]
        if width == 8:
            return [v * 32767.0 for v in struct.unpack("<%dd" % (len(raw) // 8), raw[: len(raw) // 8 * 8])]
        raise ValueError("float samples of %d bytes" % width)
    if width == 1:
        return [(b - 128) * 256.0 for b in raw]
    if width == 2:
        return [float(v) for v in struct.unpack("<%dh" % (len(raw) // 2), raw[: len(raw) // 2 * 2])]
    if width == 3:
        out = []
        for i in range(0, len(raw) - 2, 3):
            v = raw[i] | raw[i + 1] << 8 | raw[i + 2] << 16
            if v & 0x800000:
                v -= 1 << 24
            out.append(v / 256.0)
        return out
    if width == 4:
        return [v / 65536.0 for v in struct.unpack("<%di" % (len(raw) // 4), raw[: len(raw) // 4 * 4])]
    raise ValueError("samples of %d bytes" % width)


def read_riff(path):
    """(rate, channels, width, fmt_tag, data bytes) by walking the RIFF chunks; a data chunk whose
    size is 0 or runs past the end (a header not finalised) is taken to the end of the file."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 12 or blob[0:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise ValueError("%s: not a RIFF WAVE file" % path)
    pos = 12
    fmt = None
    while pos + 8 <= len(blob):
        cid = blob[pos : pos + 4]
        size = struct.unpack("<I", blob[pos + 4 : pos + 8])[0]
        body = pos + 8
        if cid == b"fmt ":
            tag, ch, rate, _, _, bits = struct.unpack("<HHIIHH", blob[body : body + 16])
            if tag == 0xFFFE and size >= 40:
                # WAVE_FORMAT_EXTENSIBLE: the real tag is the first two bytes of the SubFormat GUID
                tag = struct.unpack("<H", blob[body + 24 : body + 26])[0]
            fmt = (rate, ch, bits // 8, tag)
        elif cid == b"data":
            if fmt is None:
                raise ValueError("%s: data before fmt" % path)
            end = len(blob) if size == 0 or body + size > len(blob) else body + size
            return fmt + (blob[body:end],)
        pos = body + size + (size & 1)
    raise ValueError("%s: no data chunk" % path)


def read_mono(path):
    """(rate, channels, samples as floats, channels averaged)."""
    try:
        with wave.open(path, "rb") as w:
            rate, ch, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            raw = w.readframes(w.getnframes())
            tag = 1
        if not raw:
            raise wave.Error("no frames in the header")
    except (wave.Error, EOFError):
        rate, ch, width, tag, raw = read_riff(path)
    if tag not in (1, 3):
        raise ValueError("%s: WAVE format tag %d is neither PCM nor float" % (path, tag))
    s = decode_samples(raw, width, tag)
    if ch > 1:
        s = [sum(s[i : i + ch]) / ch for i in range(0, len(s) - ch + 1, ch)]
    return rate, ch, s


def goertzel_power(x, hz, rate):
    w = 2.0 * math.pi * hz / rate
    c = 2.0 * math.cos(w)
    s1 = s2 = 0.0
    for v in x:
        s0 = v + c * s1 - s2
        s2, s1 = s1, s0
    return s1 * s1 + s2 * s2 - c * s1 * s2


def frame_info(x, rate):
    """(kind, hz, rms) of one frame."""
    n = len(x)
    mean = sum(x) / n
    x = [v - mean for v in x]
    energy = sum(v * v for v in x)
    rms = math.sqrt(energy / n)
    if rms < SILENCE_RMS:
        return "silence", 0.0, rms
    # zero crossings, linearly interpolated; frequency from the first to the last one
    cross = []
    for i in range(1, n):
        a, b = x[i - 1], x[i]
        if (a < 0.0 <= b) or (a >= 0.0 > b):
            cross.append(i - 1 + a / (a - b) if a != b else i)
    if len(cross) < 3:
        return "sound", 0.0, rms
    hz = (len(cross) - 1) / 2.0 / ((cross[-1] - cross[0]) / rate)
    # Goertzel power at hz: for a pure tone of amplitude A over n samples it is (A n / 2)^2,
    # and the frame's energy is A^2 n / 2, so purity = 2 P / (n E) tends to 1.
    purity = 2.0 * goertzel_power(x, hz, rate) / (n * energy) if energy > 0 else 0.0
    if purity < PURITY:
        return "sound", 0.0, rms
    return "tone", hz, rms


def frames(path):
    rate, ch, s = read_mono(path)
    step = max(1, int(round(rate * FRAME_S)))
    out = []
    for k in range(0, len(s) - step + 1, step):
        kind, hz, rms = frame_info(s[k : k + step], rate)
        out.append((k / rate, (k + step) / rate, kind, hz, rms))
    return rate, ch, len(s) / rate if rate else 0.0, out


def same_tone(a, b, tol):
    return abs(a - b) <= max(tol, 0.02 * max(a, b))


def segments(fr, tol=15.0):
    segs = []
    for start, end, kind, hz, rms in fr:
        cur = segs[-1] if segs else None
        if cur and cur["kind"] == kind and (kind != "tone" or same_tone(cur["_hz"] / cur["_n"], hz, tol)):
            cur["end"] = end
            cur["_hz"] += hz
            cur["_rms"] += rms
            cur["_n"] += 1
            continue
        segs.append({"start": start, "end": end, "kind": kind, "_hz": hz, "_rms": rms, "_n": 1})
    for s in segs:
        n = s.pop("_n")
        s["hz"] = round(s.pop("_hz") / n, 1)
        s["rms"] = round(s.pop("_rms") / n, 1)
        s["start"] = round(s["start"], 3)
        s["end"] = round(s["end"], 3)
    return segs


def cmd_tone(a):
    write_tone(a.out, a.hz, a.seconds, a.rate, a.amplitude, a.silence_before, a.silence_after)
    return 0


def cmd_analyze(a):
    rate, ch, dur, fr = frames(a.input)
    print(json.dumps({"file": a.input, "rate": rate, "channels": ch, "duration": round(dur, 3),
                      "segments": segments(fr)}, indent=1))
    return 0


def cmd_has_tone(a):
    rate, ch, dur, fr = frames(a.input)
    total = 0.0
    longest = run = 0.0
    for start, end, kind, hz, _ in fr:
        if kind == "tone" and same_tone(hz, a.hz, a.tolerance):
            total += end - start
            run += end - start
            longest = max(longest, run)
        else:
            run = 0.0
    ok = total >= a.min_seconds and (a.max is None or total <= a.max)
    print(json.dumps({"file": a.input, "hz": a.hz, "seconds": round(total, 3),
                      "longest": round(longest, 3), "duration": round(dur, 3),
                      "min": a.min_seconds, "max": a.max, "ok": ok}))
    return 0 if ok else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tone")
    t.add_argument("out")
    t.add_argument("hz", type=float)
    t.add_argument("seconds", type=float)
    t.add_argument("--silence-before", type=float, default=0.0)
    t.add_argument("--silence-after", type=float, default=0.0)
    t.add_argument("--rate", type=int, default=8000)
    t.add_argument("--amplitude", type=float, default=0.5, help="peak, 0..1 of full scale")
    t.set_defaults(fn=cmd_tone)
    an = sub.add_parser("analyze")
    an.add_argument("input")
    an.set_defaults(fn=cmd_analyze)
    h = sub.add_parser("has-tone")
    h.add_argument("input")
    h.add_argument("hz", type=float)
    h.add_argument("min_seconds", type=float)
    h.add_argument("--max", type=float, default=None)
    h.add_argument("--tolerance", type=float, default=15.0, help="Hz (or 2%%, whichever is more)")
    h.set_defaults(fn=cmd_has_tone)
    a = p.parse_args()
    try:
        return a.fn(a)
    except (OSError, ValueError, struct.error) as e:
        print("audio.py: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
