#!/usr/bin/env python3
"""Generate a synthetic news corpus of any size for benchmarks.

usage: python3 bench/gen_corpus.py --docs N --out DIR [--seed S]
         [--avg-bytes 4000] [--dup-rate 0.3] [--damage-rate 0.1]
         [--boiler-rate 0.5] [--batch-dirs 1000] [--mix 0.3,0.35,0.35]
         [--events-per-topic 6]

Every article belongs to an invented event (its own people, places,
organisations, numbers, quotes and topic words).  Events come in topics:
several events of one kind share officials, places and most topic words but
not their facts, numbers or quotes (hard negatives).  The first article of an
event is an original; the others are exact copies, light edits (a few words
changed, sentences dropped, new headline) or rewrites (same names, numbers
and quotes; sentences reordered, synonyms substituted, half the sentences
written afresh).  Some articles are wrapped in one of a few synthetic site
templates (menus, share prompts, newsletter boxes, related links, author
bios, footers) and some are damaged: UTF-8 read as Windows-1252 and saved
again as UTF-8 (mojibake), or stored as Windows-1252 bytes.

All words come from a vocabulary invented at run time (plus common English
function words), drawn with a Zipf law, so the text costs nothing to make
and holds no copied prose.  The output is a function of the options and the
seed only.

Writes DIR/bNNNNN/dNNNNNNNN.txt, DIR/labels.tsv (relpath<TAB>event id, the
format of ../shared/eval/eval_clusters.py), DIR/labels_copy.tsv (relpath<TAB>
near-duplicate group: an original or rewrite with its copies and edits) and
DIR/meta.tsv (header line, then relpath, event, kind, source relpath, site,
damage per article).
"""
import argparse
import bisect
import math
import os
import random
import sys
import time

# Common English function and frame words: they carry the Zipf head, as in
# real text.  Curly apostrophes on purpose, so damage is visible.
FUNCTION_WORDS = """
the of and to a in that was for on with said as by at from it he she they
his her their had has have were be been not but an or this which who after
also more than would will about over into its two three new last year
people time first could other some when there all one while before up out
them we our no may only most such like then these so if any because during
him under since against between both each many where through four five
says told week month day city officials earlier later it’s didn’t don’t
government police local report country state minister group area
""".split()

SYLLABLES = """
ba be bi bo bu da de di do du fa fe fi fo ga ge go ka ke ki ko la le li lo
lu ma me mi mo mu na ne ni no nu pa pe pi po ra re ri ro ru sa se si so su
ta te ti to tu va ve vi vo za zo bran cor dal fen gar hal kel lin mar nor
pel quar ros sal tam ver wen yor bel cas dun eth har ist lor mor ond tre
""".split()
SUFFIXES = ["", "", "", "", "s", "ed", "ing", "er", "ly", "ion", "ment",
            "al", "ity", "ous"]

# Letters that survive in Windows-1252 but not in ASCII: names use them so
# mojibake and legacy encodings change the bytes.
ACCENTED = {"a": "áåä", "e": "éèë", "o": "øöó", "u": "üú", "i": "í",
            "n": "ñ", "c": "ç"}
NAME_SYL = """
an ar bel bren cal dor el fen gis hal id jor kas lin mar nel or pell quin
ros sten tor ul val wen yar zel ma ri to sa le vi ko da ne lu
""".split()
N_NAME_SYL = len(NAME_SYL)
PLACE_FORMS = ["{}", "{}", "{}ton", "{}ford", "Port {}", "{} Vale",
               "{}mouth", "{} Heath", "Upper {}", "{}by"]
ORG_FORMS = ["{} Transport Authority", "Ministry of {}", "{} Group",
             "{} Health Trust", "{} Council", "{} Workers Union",
             "{} Energy", "{} Safety Board", "{} Bank", "{} University"]
ROLES = ["spokesperson", "director", "mayor", "minister", "chief officer",
         "resident", "witness", "analyst", "chair", "inspector"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]

POOL_TOKENS = 1 << 21
PARA_SENTENCES = (1, 2, 2, 3, 3, 4)

LEFT_ATTACH = (" ,", " .", " ”", " ’s", " :")


class Vocab:
    """The synthetic language of one run: words, their Zipf weights, a
    stream of Zipf-drawn words to cut sentences from, and synonyms."""

    def __init__(self, rnd, n_content=30000, zipf_s=1.05):
        seen = set(FUNCTION_WORDS)
        content = []
        while len(content) < n_content:
            w = "".join(rnd.choice(SYLLABLES)
                        for _ in range(rnd.choice((1, 2, 2, 3, 3, 4))))
            w += rnd.choice(SUFFIXES)
            if len(w) > 2 and w not in seen:
                seen.add(w)
                content.append(w)
        self.content = content
        self.words = FUNCTION_WORDS + content
        cum, acc = [], 0.0
        for r in range(1, len(self.words) + 1):
            acc += 1.0 / r ** zipf_s
            cum.append(acc)
        # Sentences are slices of one long Zipf-drawn stream: one random
        # call per sentence instead of one per word keeps 100k documents
        # within a minute.  Event words inserted into every sentence keep
        # unrelated documents from sharing long runs.
        self.pool = rnd.choices(self.words, cum_weights=cum, k=POOL_TOKENS)
        # Synonym groups of two or three content words each.
        self.syn = {}
        order = list(content)
        rnd.shuffle(order)
        i = 0
        while i < len(order) * 3 // 4:
            k = rnd.choice((2, 2, 3))
            group = order[i:i + k]
            for w in group:
                self.syn[w] = [x for x in group if x != w]
            i += k


def make_name(rnd, syl_min, syl_max, p_accent):
    """An invented name; with probability p_accent one letter carries an
    accent."""
    rand = rnd.random
    n = syl_min + int(rand() * (syl_max - syl_min + 1))
    s = "".join([NAME_SYL[int(rand() * N_NAME_SYL)] for _ in range(n)])
    if rand() < p_accent:
        at = [i for i, ch in enumerate(s) if ch in ACCENTED]
        if at:
            i = at[int(rand() * len(at))]
            alt = ACCENTED[s[i]]
            s = s[:i] + alt[int(rand() * len(alt))] + s[i + 1:]
    return s.capitalize()


class Event:
    __slots__ = ("eid", "people", "places", "orgs", "numbers", "topic",
                 "tokens", "quotes", "date")


class World:
    """Makes events, articles and site templates from one random stream."""

    def __init__(self, rnd, vocab, per_topic=6.0):
        self.rnd = rnd
        self.v = vocab
        self.per_topic = per_topic
        self.used = set()
        self.topics = []
        self.sites = [self.make_site(i) for i in range(16)]
        # Big sites publish most of the templated articles.
        self.site_cum = []
        acc = 0.0
        for r in range(1, len(self.sites) + 1):
            acc += 1.0 / r
            self.site_cum.append(acc)

    def unique(self, make):
        for _ in range(50):
            s = make()
            if s not in self.used:
                self.used.add(s)
                return s
        return s

    def person(self):
        rnd = self.rnd
        return self.unique(lambda: make_name(rnd, 1, 2, 0.25) + " "
                           + make_name(rnd, 2, 3, 0.35))

    def place(self):
        rnd = self.rnd
        return self.unique(lambda: rnd.choice(PLACE_FORMS).format(
            make_name(rnd, 2, 3, 0.15)))

    def org(self):
        rnd = self.rnd
        return self.unique(lambda: rnd.choice(ORG_FORMS).format(
            make_name(rnd, 2, 3, 0.1)))

    def number(self):
        rnd = self.rnd
        k = rnd.random()
        if k < 0.35:
            return str(rnd.randint(2, 99))
        if k < 0.55:
            return f"{rnd.randint(100, 99999):,}"
        if k < 0.7:
            return f"{rnd.randint(1, 99)}.{rnd.randint(0, 9)} per cent"
        if k < 0.85:
            return f"€{rnd.randint(1, 999)}.{rnd.randint(1, 9)} million"
        return f"{rnd.randint(1, 12)}.{rnd.randint(0, 59):02d} a.m."

    def topic_words(self, n):
        lo = len(FUNCTION_WORDS) + 200
        span = len(self.v.words) - lo
        rand = self.rnd.random
        return [self.v.words[lo + int(rand() * span)] for _ in range(n)]

    def new_topic(self):
        """A running story or a beat: the officials, places, organisations
        and words that several distinct events of one kind share."""
        rnd = self.rnd
        return {
            "people": [(self.person(), rnd.choice(ROLES)) for _ in range(4)],
            "places": [self.place() for _ in range(3)],
            "orgs": [self.org() for _ in range(3)],
            "words": self.topic_words(30),
        }

    def event(self, eid):
        rnd = self.rnd
        # Most events belong to a recent topic, so the corpus holds hard
        # negatives: other events of the same kind, same region, some of
        # the same officials, different facts.
        if not self.topics or rnd.random() < 1.0 / self.per_topic:
            self.topics.append(self.new_topic())
            if len(self.topics) > 200:
                self.topics.pop(0)
            tp = self.topics[-1]
        else:
            tp = rnd.choice(self.topics)
        ev = Event()
        ev.eid = eid
        ev.people = (rnd.sample(tp["people"], rnd.randint(1, 3))
                     + [(self.person(), rnd.choice(ROLES))
                        for _ in range(rnd.randint(1, 2))])
        ev.places = ([rnd.choice(tp["places"])]
                     + [self.place() for _ in range(rnd.randint(0, 2))])
        ev.orgs = ([rnd.choice(tp["orgs"])]
                   + [self.org() for _ in range(rnd.randint(0, 1))])
        ev.numbers = [self.number() for _ in range(rnd.randint(4, 8))]
        ev.topic = (rnd.sample(tp["words"], 12)
                    + self.topic_words(rnd.randint(3, 6)))
        names = [p for p, _ in ev.people]
        ev.tokens = (names + [p + "’s" for p in names[:2]] + ev.places
                     + ev.orgs + ev.numbers + ev.topic * 2)
        ev.date = (rnd.randint(1, 28), rnd.randrange(12),
                   rnd.choice((2024, 2025)))
        ev.quotes = []
        for _ in range(rnd.randint(1, 4)):
            ev.quotes.append((self.clause(ev, rnd.randint(8, 20)),
                              rnd.choice(ev.people)[0]))
        return ev

    def clause(self, ev, n):
        # random() arithmetic instead of randrange()/choice(): this is the
        # hot loop, and the stdlib helpers cost several times more.
        rand = self.rnd.random
        start = int(rand() * (POOL_TOKENS - n))
        toks = self.v.pool[start:start + n]
        evt = ev.tokens
        ne = len(evt)
        for _ in range(1 + n // 6):
            toks[int(rand() * n)] = evt[int(rand() * ne)]
        if n > 12 and rand() < 0.6:
            toks.insert(4 + int(rand() * (n - 7)),
                        "–" if rand() < 0.15 else ",")
        t = toks[0]
        toks[0] = t[:1].upper() + t[1:]
        return toks

    def sentence(self, ev):
        rand = self.rnd.random
        k = rand()
        if k < 0.12 and ev.quotes:
            q, who = ev.quotes[int(rand() * len(ev.quotes))]
            return ["“"] + q + [",", "”", "said", who, "."]
        toks = self.clause(ev, 7 + int(rand() * 20))
        if k < 0.25:
            who, role = ev.people[int(rand() * len(ev.people))]
            toks += [",", "said", who, ",", "an" if role[0] in "aeiou"
                     else "a", role, "."]
        elif k < 0.32:
            toks += [",", "according", "to", "the",
                     ev.orgs[int(rand() * len(ev.orgs))], "."]
        else:
            toks.append(".")
        return toks

    def headline(self, ev):
        rnd = self.rnd
        toks = self.clause(ev, rnd.randint(6, 11))
        toks.insert(rnd.randrange(len(toks)), rnd.choice(ev.places))
        return [t[:1].upper() + t[1:] if t not in (",", "–") else t
                for t in toks]

    def original(self, ev, target):
        """Headline, dateline and paragraphs (lists of token lists)."""
        rnd = self.rnd
        d, m, y = ev.date
        dateline = None
        if rnd.random() < 0.5:
            dateline = (f"{ev.places[0].upper()}, {d} {MONTHS[m]} {y} "
                        f"({rnd.choice(ev.orgs).split()[0][:4].upper()}) –")
        paras, size = [], 0
        while size < target:
            para = []
            for _ in range(PARA_SENTENCES[int(rnd.random() * 6)]):
                s = self.sentence(ev)
                size += len(" ".join(s)) + 1
                para.append(s)
            paras.append(para)
        return {"head": self.headline(ev), "dateline": dateline,
                "paras": paras}

    def edit(self, ev, src):
        """A few words changed, a sentence or a paragraph dropped, maybe
        the end cut, a new headline."""
        rnd = self.rnd
        paras = [[list(s) for s in p] for p in src["paras"]]
        if len(paras) > 4 and rnd.random() < 0.3:
            del paras[rnd.randrange(1, len(paras))]
        for _ in range(rnd.randint(1, 2)):
            p = paras[rnd.randrange(len(paras))]
            if len(p) > 1:
                del p[rnd.randrange(len(p))]
        for _ in range(rnd.randint(2, 6)):
            s = rnd.choice(rnd.choice(paras))
            i = rnd.randrange(len(s))
            if s[i] not in (",", ".", "“", "”"):
                s[i] = rnd.choice(self.v.words)
        if len(paras) > 5 and rnd.random() < 0.2:
            paras = paras[:-1]
        head = src["head"] if rnd.random() < 0.3 else self.headline(ev)
        return {"head": head, "dateline": src["dateline"], "paras": paras}

    def rewrite(self, ev, src):
        """Same facts and quotes in other words and another order."""
        rnd = self.rnd
        syn = self.v.syn
        out = []
        for p in src["paras"]:
            for s in p:
                if s[0] == "“":
                    out.append(list(s))      # quotes stay verbatim
                elif rnd.random() < 0.5:
                    out.append(self.sentence(ev))
                else:
                    t = [rnd.choice(syn[w]) if w in syn
                         and rnd.random() < 0.6 else w for w in s[:-1]]
                    if len(t) > 8:
                        # Move the opening clause to the end.
                        cut = rnd.randrange(3, len(t) - 3)
                        t = t[cut:] + [","] + t[:cut]
                        t[0] = t[0][:1].upper() + t[0][1:]
                    out.append(t + ["."])
        lead, rest = out[:1], out[1:]
        rnd.shuffle(rest)
        out = lead + rest
        paras, i = [], 0
        while i < len(out):
            k = rnd.choice((1, 2, 2, 3))
            paras.append(out[i:i + k])
            i += k
        return {"head": self.headline(ev), "dateline": None, "paras": paras}

    def make_site(self, i):
        rnd = self.rnd
        v = self.v
        name = rnd.choice(("The {} {}", "{} {}", "{} {} Online")).format(
            make_name(rnd, 2, 3, 0.0),
            rnd.choice(("Courier", "Herald", "Post", "Times", "Daily",
                        "Today", "Observer", "News", "Record")))
        menu = ["Home", "News"] + [rnd.choice(v.content).capitalize()
                                   for _ in range(rnd.randint(6, 14))]
        authors = []
        for _ in range(rnd.randint(2, 4)):
            who = make_name(rnd, 1, 2, 0.3) + " " + make_name(rnd, 2, 3, 0.3)
            start = rnd.randrange(POOL_TOKENS - 200)
            bio = (who + " " + " ".join(v.pool[start:start + rnd.randint(
                40, 120)]) + ".")
            authors.append((who, bio))
        return {
            "name": name,
            "menu": menu,
            "glued": rnd.random() < 0.5,
            "cookie": rnd.random() < 0.4,
            "readtime": rnd.random() < 0.3,
            "adfree": rnd.random() < 0.25,
            "keep": rnd.random() < 0.4,
            "newsletter": rnd.random() < 0.5,
            "share": rnd.random() < 0.7,
            "tags": rnd.random() < 0.5,
            "similar": rnd.choice(("Similar News", "You May Also Like",
                                   "Related stories", "More from " + name,
                                   None)),
            "authors": authors,
            "bio": rnd.random() < 0.4,
            "social": rnd.random() < 0.3,
            "year": rnd.choice((2024, 2025)),
        }

    def short_headline(self):
        rnd = self.rnd
        n = rnd.randint(5, 10)
        start = rnd.randrange(POOL_TOKENS - n)
        t = " ".join(self.v.pool[start:start + n])
        return t[:1].upper() + t[1:]


def render_tokens(toks):
    s = " ".join(toks)
    for x in LEFT_ATTACH:
        s = s.replace(x, x[1:])
    return s.replace("“ ", "“").replace(" \n\n ", "\n\n")


def render(world, ev, art, site):
    rnd = world.rnd
    head = render_tokens(art["head"])
    # One join for the whole body, then split: far cheaper than one
    # render per paragraph.
    toks = []
    for p in art["paras"]:
        for s in p:
            toks += s
        toks.append("\n\n")
    paras = render_tokens(toks[:-1]).split("\n\n")
    if art["dateline"]:
        paras[0] = art["dateline"] + " " + paras[0]
    if site is None:
        return head + "\n\n" + "\n\n".join(paras) + "\n"

    top, bottom = [], []
    d, m, y = ev.date
    if site["cookie"]:
        top.append("We use cookies to improve your experience and to show "
                   "relevant advertising. By continuing you agree to our "
                   "use of cookies. Manage preferences Accept all")
    if site["glued"]:
        top.append(head + " | " + site["name"] + "\n\n\n")
        top.append("Skip to content" + "".join(site["menu"]) + "Sign in"
                   "Search" + head + ("Share on FacebookShare on XCopy link"
                                      if site["share"] else "")
                   + f"Published {d} {MONTHS[m]} {y}")
    else:
        top.append(site["name"])
        top.append(" ".join(site["menu"]))
        top.append(head)
        top.append(f"Updated: {y}-{m + 1:02d}-{d:02d} "
                   f"{rnd.randint(6, 22):02d}:{rnd.randint(0, 59):02d} GMT")
    if site["readtime"]:
        top.append(f"Estimated read time {rnd.randint(2, 6)} min read")

    if site["adfree"]:
        paras = [p + " {{^adFree}} {{/adFree}}" if rnd.random() < 0.5 else p
                 for p in paras]
    if site["keep"] and len(paras) > 2:
        items = [world.short_headline() for _ in range(3)]
        paras[1] += ("Keep reading list of 3 items" + "".join(
            f"list {i + 1} of 3{h}" for i, h in enumerate(items))
            + "end of list")
    if site["social"] and rnd.random() < 0.5 and len(paras) > 3:
        who = rnd.choice(ev.people)[0]
        handle = "".join(c for c in who if c.isascii() and c.isalpha())
        post = (world.short_headline() + " " + rnd.choice(("🙏", "💔", "👏",
                                                           "🔥", "📸"))
                + f" pic.twitter.com/{rnd.getrandbits(40):010x}\n— {who} "
                f"(@{handle[:15]}) {MONTHS[m]} {d}, {y}")
        paras.insert(rnd.randrange(2, len(paras)), post)
    if site["newsletter"] and len(paras) > 4:
        paras.insert(len(paras) // 2,
                     f"Sign up for the {site['name']} newsletter\nThe day's "
                     "stories in your inbox every morning.\nEnter your email"
                     " addressSubscribe")

    if site["bio"]:
        who, bio = rnd.choice(site["authors"])
        bottom.append(who)
        bottom.append(bio)
    if site["tags"]:
        bottom.append("Tags:    " + "    ".join(
            [ev.places[0]] + [t.capitalize() for t in ev.topic[:2]]))
    if site["similar"]:
        bottom.append(site["similar"])
        bottom.extend(world.short_headline() for _ in range(3))
    if site["share"]:
        bottom.append("Share this articleFacebookXWhatsAppEmail")
    bottom.append("Back to top")
    bottom.append(f"© {site['year']} {site['name']}. All rights reserved.")
    return ("\n\n".join(top) + "\n\n" + "\n\n".join(paras) + "\n\n"
            + "\n".join(bottom) + "\n")


# Windows-1252 reading of bytes 0x80..0x9F; the five bytes it leaves
# undefined stay C1 controls, as browsers and most scrapers do.
def _c1_table():
    t = {}
    for b in range(0x80, 0xA0):
        try:
            t[b] = bytes([b]).decode("cp1252")
        except UnicodeDecodeError:
            pass
    return t


C1_TO_CP1252 = _c1_table()


def mojibake(text):
    return text.encode("utf-8").decode("latin-1").translate(C1_TO_CP1252)


def parse_mix(s):
    try:
        parts = [float(x) for x in s.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 3 or min(parts) < 0 or sum(parts) <= 0:
        raise argparse.ArgumentTypeError(
            f"bad mix '{s}': want three non-negative weights "
            "copy,edit,rewrite")
    return parts


def rate(s):
    try:
        x = float(s)
    except ValueError:
        x = -1.0
    if not 0.0 <= x <= 1.0:
        raise argparse.ArgumentTypeError(f"bad rate '{s}': want 0..1")
    return x


def positive(s):
    try:
        x = int(s)
    except ValueError:
        x = 0
    if x <= 0:
        raise argparse.ArgumentTypeError(f"bad count '{s}': want > 0")
    return x


def cluster_sizes(rnd, n_docs, dup_rate):
    """Event sizes with a long tail whose mean gives the wanted share of
    non-original documents."""
    extra_mean = dup_rate / (1.0 - dup_rate) if dup_rate < 1.0 else n_docs
    # Events with copies have on average 3 of them, geometric.
    c = max(3.0, extra_mean)
    p_multi = min(1.0, extra_mean / c)
    q = 1.0 - 1.0 / c
    total = 0
    while total < n_docs:
        k = 1
        if rnd.random() < p_multi:
            u = 1.0 - rnd.random()
            k += 1 + (int(math.log(u) / math.log(q)) if q > 0 else 0)
        k = min(k, n_docs - total)
        total += k
        yield k


def main(argv):
    ap = argparse.ArgumentParser(
        description="Generate a synthetic news corpus (see bench/README.md).")
    ap.add_argument("--docs", type=positive, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--avg-bytes", type=positive, default=4000,
                    help="mean article body size (log-normal)")
    ap.add_argument("--dup-rate", type=rate, default=0.3,
                    help="share of articles that are not an event's first")
    ap.add_argument("--damage-rate", type=rate, default=0.1)
    ap.add_argument("--boiler-rate", type=rate, default=0.5)
    ap.add_argument("--batch-dirs", type=int, default=1000,
                    help="files per subdirectory, 0 for none")
    ap.add_argument("--events-per-topic", type=positive, default=6,
                    help="mean events per topic (shared officials, places,"
                    " words); 1 makes every event unrelated")
    ap.add_argument("--mix", type=parse_mix, default=[0.3, 0.35, 0.35],
                    help="weights of copy,edit,rewrite among non-originals")
    args = ap.parse_args(argv)
    if args.batch_dirs < 0:
        ap.error(f"bad --batch-dirs '{args.batch_dirs}'")
    if os.path.isdir(args.out) and os.listdir(args.out):
        print(f"gen_corpus: '{args.out}' exists and is not empty",
              file=sys.stderr)
        return 1

    t0 = time.monotonic()
    rnd = random.Random(args.seed)
    world = World(rnd, Vocab(rnd), args.events_per_topic)
    slots = list(range(args.docs))
    rnd.shuffle(slots)
    width = max(8, len(str(args.docs - 1)))
    sigma = 0.5
    mu = math.log(args.avg_bytes) - sigma * sigma / 2
    mix_cum = [args.mix[0], args.mix[0] + args.mix[1], sum(args.mix)]

    def relpath(slot):
        name = f"d{slot:0{width}d}.txt"
        if args.batch_dirs:
            return f"b{slot // args.batch_dirs:05d}/{name}"
        return name

    os.makedirs(args.out, exist_ok=True)
    made_dirs = set()
    cache = {}      # relpath -> (page text, site) within the current event
    labels = [None] * args.docs
    copy_labels = [None] * args.docs
    meta = [None] * args.docs
    n_bytes = n_events = 0
    doc = 0
    for size in cluster_sizes(rnd, args.docs, args.dup_rate):
        ev = world.event(f"e{n_events:07d}")
        n_events += 1
        arts = []
        for j in range(size):
            slot = slots[doc]
            doc += 1
            rel = relpath(slot)
            if j == 0:
                target = min(rnd.lognormvariate(mu, sigma),
                             20 * args.avg_bytes)
                art, kind, src = world.original(ev, target), "original", None
            else:
                src = rnd.choice(arts)
                k = rnd.random() * mix_cum[2]
                if k < mix_cum[0]:
                    art, kind = src[0], "copy"
                elif k < mix_cum[1]:
                    art, kind = world.edit(ev, src[0]), "edit"
                else:
                    art, kind = world.rewrite(ev, src[0]), "rewrite"
            # Copies and edits stay in their source's near-duplicate
            # group; an original or a rewrite starts one.
            group = (src[2] if kind in ("copy", "edit")
                     else f"{ev.eid}.{j}")
            arts.append((art, rel, group))
            site_i = None
            if rnd.random() < args.boiler_rate:
                site_i = bisect.bisect(world.site_cum,
                                       rnd.random() * world.site_cum[-1])
            # An exact copy often keeps its source's page as is.
            if (kind == "copy" and src[1] in cache and rnd.random() < 0.5):
                text, site_i = cache[src[1]]
            else:
                text = render(world, ev, art,
                              None if site_i is None else world.sites[site_i])
            cache[rel] = (text, site_i)
            damage = "none"
            if rnd.random() < args.damage_rate:
                if rnd.random() < 0.75:
                    damage, data = "mojibake", mojibake(text).encode("utf-8")
                else:
                    damage = "cp1252"
                    data = text.encode("cp1252", errors="replace")
            else:
                data = text.encode("utf-8")
            d = os.path.dirname(rel)
            if d and d not in made_dirs:
                os.makedirs(os.path.join(args.out, d), exist_ok=True)
                made_dirs.add(d)
            with open(os.path.join(args.out, rel), "wb") as f:
                f.write(data)
            n_bytes += len(data)
            labels[slot] = f"{rel}\t{ev.eid}\n"
            copy_labels[slot] = f"{rel}\t{group}\n"
            meta[slot] = "\t".join((
                rel, ev.eid, kind, src[1] if src else "-",
                "-" if site_i is None else f"site{site_i:02d}", damage)) + "\n"
        cache.clear()

    with open(os.path.join(args.out, "labels.tsv"), "w",
              encoding="utf-8") as f:
        f.writelines(labels)
    with open(os.path.join(args.out, "labels_copy.tsv"), "w",
              encoding="utf-8") as f:
        f.writelines(copy_labels)
    with open(os.path.join(args.out, "meta.tsv"), "w",
              encoding="utf-8") as f:
        f.write("path\tevent\tkind\tsource\tsite\tdamage\n")
        f.writelines(meta)
    dt = time.monotonic() - t0
    print(f"gen_corpus: {args.docs} docs, {n_events} events, "
          f"{n_bytes / 1e6:.1f} MB in {dt:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
