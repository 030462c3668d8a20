#!/usr/bin/env python3
"""Regenerate the two deliberately damaged files of data/sample/articles/.

usage: python3 bench/make_sample_damage.py [--sample-dir DIR] [--check]

Writes:
  kestrel-news-quarrendale-ferry-strikes-pier.txt
      A verbatim copy of the agency report (mvpa-quarrendale-ferry-strikes-
      pier.txt) on another site's template, with an embedded social post
      that holds emoji, pushed through the classic mojibake path: the UTF-8
      bytes were read as Windows-1252 and the result saved again as UTF-8
      ("’" becomes "â€™", "é" becomes "Ã©").  Bytes that Windows-1252 leaves
      undefined (0x81 0x8D 0x8F 0x90 0x9D) become the C1 control characters
      of the same value, as browsers and most scrapers do, so "”" ends up as
      "â€" followed by an invisible U+009D.
  marrow-vale-gazette-ferry-accident-quarrendale.txt
      An independent rewrite from a site with a legacy CMS, stored as
      Windows-1252 bytes (not UTF-8): accented names, curly quotes, dashes
      and a euro sign are single bytes in 0x80..0xFF.

The clean text of the gazette article lives only in this script, so the
corpus never holds an undamaged twin of a damaged file.  --check rebuilds
both files in memory and exits 1 when the files on disk differ.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SAMPLE = os.path.normpath(os.path.join(HERE, "..", "data", "sample", "articles"))

AGENCY = "mvpa-quarrendale-ferry-strikes-pier.txt"
KESTREL = "kestrel-news-quarrendale-ferry-strikes-pier.txt"
GAZETTE = "marrow-vale-gazette-ferry-accident-quarrendale.txt"

KESTREL_HEAD = """\
Kestrel News Network – Two dead after river ferry strikes old pier pilings in fog at Quarrendale

Home
Local
National
Business
Sport
Culture
Contact

Breaking
6 March 2025 by Kestrel Newsdesk
Share this:
Click to share on Facebook (Opens in new window)
Click to share on X (Opens in new window)
Click to email a link to a friend (Opens in new window)

"""

# The mayor's post is the reason this copy carries emoji; the dash before
# the author line is the em dash embeds use.
KESTREL_POST = """\
Our whole town is grieving this morning. If you were on the Pellmoor crossing or are waiting for news of someone who was, the town hall is open for you all day 💙🕯️ pic.twitter.com/Vw3nKp8sQe
— Hélène Marchetti (@HMarchettiQdale) March 6, 2025"""

KESTREL_TAIL = """\

Share this:
Click to share on Facebook (Opens in new window)
Click to share on X (Opens in new window)
Like this:
Like Loading...
Related
Leave a Reply Cancel reply
Your email address will not be published. Required fields are marked *
© 2025 Kestrel News Network · Powered by volunteers in the valley
Back to top
"""

GAZETTE_TEXT = """\
Marrow Vale Gazette – Thursday 6 March 2025

FERRY ACCIDENT AT QUARRENDALE: TWO PASSENGERS DIE

Home | News | Sport | Letters | Notices | Archive

Two passengers died when the Pellmoor ferry ran aground on the stumps of the old Quarrendale pier in fog this morning.

The Tamsin Reay, run by Aldwyn River Lines, had 38 passengers and four crew aboard for the 12-minute crossing of the River Aldwyn. It struck the submerged pilings at about 7.40 a.m., around 150 metres from the town quay, and heeled over to starboard. The ferry took in water but did not go down.

A man of 71 and a woman of 64, both living in Pellmoor, were brought out of the river unconscious and were pronounced dead at Aldwyn General Hospital. Eleven people were hurt – hypothermia, cuts and one suspected broken arm – and three were kept in.

Chief fire officer Søren Åkesson of Marrow Vale Fire and Rescue said: “The fog was so thick that our first crews could hear people in the water before they could see them.” Fire boats and two fishing launches took passengers off the upper deck; the last was landed at 8.25 a.m.

Passenger Dóra Fenwick, 29, a nurse, told the Gazette: “There was a bang, then the whole deck tipped and everybody slid toward the railing.”

The pier was demolished in 2019 but its timber piles were sawn off under the water. Neighbours have called them a danger at low water since 2021, and some 1,400 signed a petition to the river authority last year.

Inès Carvalho, for the Marrow Vale Maritime Safety Board, said its inquiry would ask whether the piles were on the charts, what the visibility was and whether the crew slowed down. Tobias Wenlock, managing director of Aldwyn River Lines, said all crossings were suspended: “We will cooperate fully with the investigation, and none of our vessels will sail until they have been inspected.” Season tickets will be extended and single fares (€2.40) refunded for every day without a service.

The Tamsin Reay, built in 1998, is licensed for 120. Mayor Hélène Marchetti called it “the darkest morning this town has known in a generation”. Buses will run to Pellmoor by the Saltry bridge, 19 km by road.

Gazette reporter: Léonie Crabbé

Letters to the editor: write to the Gazette office, Corn Exchange, Quarrendale. © Marrow Vale Gazette
"""


def sloppy_cp1252_table():
    """Byte -> character as a Windows-1252 reader shows it, undefined bytes
    kept as the C1 control of the same value."""
    table = []
    for b in range(256):
        try:
            table.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            table.append(chr(b))
    return table


def mojibake(text):
    table = sloppy_cp1252_table()
    return "".join(table[b] for b in text.encode("utf-8"))


def build_kestrel(sample_dir):
    with open(os.path.join(sample_dir, AGENCY), encoding="utf-8") as f:
        src = f.read()
    paras = [p for p in src.split("\n\n") if p.strip()]
    body = paras[1:]
    # The post sits where the site's editor dropped it: after the rescue
    # quotes, before the background paragraphs.
    body.insert(6, KESTREL_POST)
    clean = KESTREL_HEAD + "\n\n".join(body) + "\n" + KESTREL_TAIL
    return mojibake(clean).encode("utf-8")


def build_gazette():
    # Legacy CMS: CRLF line ends as well as single-byte encoding.
    return GAZETTE_TEXT.replace("\n", "\r\n").encode("cp1252", errors="strict")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sample-dir", default=DEFAULT_SAMPLE)
    ap.add_argument("--check", action="store_true",
                    help="compare with the files on disk instead of writing")
    args = ap.parse_args(argv)

    outputs = {
        KESTREL: build_kestrel(args.sample_dir),
        GAZETTE: build_gazette(),
    }
    stale = 0
    for name, data in outputs.items():
        path = os.path.join(args.sample_dir, name)
        if args.check:
            try:
                with open(path, "rb") as f:
                    same = f.read() == data
            except FileNotFoundError:
                same = False
            if not same:
                print(f"make_sample_damage: '{path}' is out of date",
                      file=sys.stderr)
                stale += 1
            continue
        with open(path, "wb") as f:
            f.write(data)
        print(f"wrote {path} ({len(data)} bytes)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
