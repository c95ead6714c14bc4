"""Benchmark the column's static site build against Pelican, on 1,000 generated stories.

In one run, on the same Markdown bodies in a temporary folder: (a) a full build
with publisher.site.build, (b) one-story incremental builds (an edited story,
then a story becoming due), (c) Pelican 4.12 building the same stories in a
child process. Prints the times and the ratios against the issue's targets.

    .venv/bin/pip install -e '.[bench]'     # pelican==4.12.0 and markdown
    .venv/bin/python bench/site.py [--stories 1000] [--keep]

See bench/README.md. Exits non-zero only when the harness itself fails.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw

from publisher.site import build
from publisher.story import SHANGHAI, load_all

TARGET_FULL_RATIO = 0.5
TARGET_INCREMENTAL_S = 1.0
START = datetime(2025, 8, 1, 8, 0, tzinfo=SHANGHAI)
TAGS = ["就业帮扶", "乡村振兴", "老兵故事", "拥军优属", "志愿服务", "红色教育", "创业", "帮扶"]
PHRASES = [
    "九都镇退役军人服务站设在镇政府便民服务中心，",
    "站长每周三到村里走访，把政策一条条讲清楚。",
    "老兵们说，有事找服务站，心里就踏实了。",
    "今年春耕前，服务站联系农技员给退役军人讲核桃种植，",
    "“退役不褪色”不是一句口号，而是每天的日常。",
    "他把部队里学到的规矩带回了村里，带着乡亲们修通了进村的路；",
    "服务站的台账一人一档，谁家有困难，一查就知道。",
]
PELICAN_CONF = """\
AUTHOR = "bench"
SITENAME = "凉山退役军人服务站风采录"
SITEURL = "https://example.org/column"
TIMEZONE = "Asia/Shanghai"
DEFAULT_LANG = "zh"
ARTICLE_PATHS = ["articles"]
STATIC_PATHS = ["articles"]
ARTICLE_URL = "{slug}/"
ARTICLE_SAVE_AS = "{slug}/index.html"
TAG_URL = "tags/{slug}/"
TAG_SAVE_AS = "tags/{slug}/index.html"
CATEGORY_URL = "stations/{slug}/"
CATEGORY_SAVE_AS = "stations/{slug}/index.html"
DEFAULT_PAGINATION = 10
FEED_ALL_ATOM = "feed.xml"
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
LOAD_CONTENT_CACHE = False
CACHE_CONTENT = False
"""
# Pelican runs in a child process (its logging and settings are process-wide);
# it imports first, then times only the build, as the in-process builds are timed.
# A harness failure (a child that cannot build) exits 2.
PELICAN_RUN = """\
import sys, time, logging
from pelican import Pelican
from pelican.settings import read_settings
logging.disable(logging.WARNING)
settings = read_settings(sys.argv[1], override={"PATH": sys.argv[2], "OUTPUT_PATH": sys.argv[3]})
started = time.perf_counter()
Pelican(settings).run()
print(time.perf_counter() - started)
"""

SERIAL_RUN = """\
import sys, time
from datetime import datetime
from publisher.site import build
from publisher.story import load_all
stories = load_all(sys.argv[1]).stories
started = time.perf_counter()
build(stories, sys.argv[2], "https://example.org/column", datetime.fromisoformat(sys.argv[3]),
      workers=1)
print(time.perf_counter() - started)
"""


def make_images(folder: Path) -> list[Path]:
    """A few phone-sized pictures the stories share: covers must be resized, photos not."""
    folder.mkdir(parents=True)
    made = []
    for i, (size, colour) in enumerate(
        [((1600, 900), (168, 40, 30)), ((1280, 960), (40, 90, 60)), ((1440, 810), (30, 60, 120))]
    ):
        img = Image.new("RGB", size, colour)
        ImageDraw.Draw(img).ellipse((100, 100, size[0] - 100, size[1] - 100), fill=(230, 220, 200))
        made.append(folder / f"cover{i}.jpg")
        img.save(made[-1], quality=85)
    photo = Image.new("RGB", (800, 600), (200, 180, 120))
    ImageDraw.Draw(photo).rectangle((50, 50, 750, 550), outline=(60, 60, 60), width=12)
    photo.save(folder / "photo.jpg", quality=85)
    return [*made, folder / "photo.jpg"]


def body(rng: random.Random, n: int) -> str:
    """About 1,500 characters of Markdown: headings, a quote, a list, a link, an image."""
    paras = ["".join(rng.choices(PHRASES, k=6)) for _ in range(8)]
    return (
        f"{paras[0]}\n\n## 一、服务站的日常\n\n{paras[1]}**“有事找服务站”**。\n\n{paras[2]}\n\n"
        f"> {paras[3]}\n\n![站里的合影](photo.jpg)\n\n## 二、第 {n} 位老兵\n\n"
        f"- {paras[4][:40]}\n- {paras[5][:40]}\n- 详见[凉山州人民政府网站](https://www.lsz.gov.cn/)\n\n"
        f"{paras[6]}\n\n{paras[7]}\n"
    )


def generate(root: Path, count: int) -> None:
    """Write count stories twice: our front matter, and Pelican's metadata over the same body."""
    rng = random.Random(3)
    images = make_images(root / "images")
    ours, theirs = root / "content" / "articles", root / "pelican" / "articles"
    for n in range(count):
        slug = f"story-{n:04d}"
        when = START + timedelta(days=7 * n)
        tags = rng.sample(TAGS, 2)
        station = f"513429-{100 + n % 30:03d}"
        text = body(rng, n)
        title, digest = f"第{n}篇：服务站里的老兵故事", "".join(rng.choices(PHRASES, k=2))[:100]
        cover = images[n % 3]
        for base in (ours, theirs):
            folder = base / slug
            folder.mkdir(parents=True)
            os.link(cover, folder / "cover.jpg")  # same bytes for both builders, no copy cost
            os.link(images[3], folder / "photo.jpg")
        (ours / slug / "index.md").write_text(
            f"---\ntitle: {title}\nauthor: 凉山州退役军人事务局\ndigest: {digest}\n"
            f"publish_at: {when:%Y-%m-%d %H:%M}\ncover: cover.jpg\nstation: '{station}'\n"
            f"tags: [{', '.join(tags)}]\n---\n{text}",
            encoding="utf-8",
        )
        (theirs / slug / "index.md").write_text(
            f"Title: {title}\nDate: {when:%Y-%m-%d %H:%M}\nAuthor: 凉山州退役军人事务局\n"
            f"Summary: {digest}\nSlug: {slug}\nCategory: {station}\nTags: {', '.join(tags)}\n\n"
            f"![封面](cover.jpg)\n\n{text}",
            encoding="utf-8",
        )


def child(script: str, *args: str) -> float:
    """Run script in a fresh interpreter; it prints the seconds its build took."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"child build failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def timed(fn):
    """Run fn and return (its result, seconds)."""
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> int:
    """Generate, build three ways, print the figures."""
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--stories", type=int, default=1000)
    args.add_argument("--keep", action="store_true", help="keep the temporary folder")
    opts = args.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-site-"))
    try:
        return run(root, opts.stories)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    finally:
        if opts.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def run(root: Path, count: int) -> int:
    """The bench proper, in root."""
    generate(root, count)
    site_url = "https://example.org/column"
    loaded, load_s = timed(lambda: load_all(root / "content"))
    if loaded.faults or len(loaded.stories) != count:
        print(f"generated stories did not load: {loaded.faults[:3]}", file=sys.stderr)
        return 2
    stories = loaded.stories
    now = stories[-1].publish_at
    out = root / "site"

    full, full_s = timed(lambda: build(stories, out, site_url, now))
    # The same build in one process, in a fresh child (no warm caches): what the pool adds.
    serial_s = child(SERIAL_RUN, str(root / "content"), str(root / "serial"), now.isoformat())
    # (b1) an editor fixes one story in the middle: new title, so neighbours change too.
    edited = stories[count // 2]
    source = edited.source
    source.write_text(source.read_text(encoding="utf-8").replace("title: 第", "title: 修订：第"))
    stories = load_all(root / "content").stories
    edit, edit_s = timed(lambda: build(stories, out, site_url, now, changed={edited.slug}))
    # (b2) the newest story's time comes: it was scheduled a week after "now".
    later = stories[-1]
    earlier_now = later.publish_at - timedelta(seconds=1)
    build(stories, out, site_url, earlier_now)  # the site as it was before it came due
    due, due_s = timed(lambda: build(stories, out, site_url, now, changed={later.slug}))

    conf = root / "pelicanconf.py"
    conf.write_text(PELICAN_CONF, encoding="utf-8")
    pelican_s = child(PELICAN_RUN, str(conf), str(root / "pelican"), str(root / "out"))
    pelican_files = sum(1 for p in (root / "out").rglob("*") if p.is_file())

    ratio = full_s / pelican_s
    print(f"{count} stories, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"load_all (front matter of every story)   {load_s:7.2f} s")
    print(f"(a) full build                           {full_s:7.2f} s  {len(full.written)} files")
    print(f"    the same in one process              {serial_s:7.2f} s")
    print(f"(b) incremental, one story edited        {edit_s:7.2f} s  {len(edit.written)} written")
    print(f"(b) incremental, one story became due    {due_s:7.2f} s  {len(due.written)} written")
    print(f"(c) Pelican 4.12 full build              {pelican_s:7.2f} s  {pelican_files} files")
    verdict = "met" if ratio <= TARGET_FULL_RATIO else "MISSED"
    print(f"full / Pelican = {ratio:.2f}x  (target <= {TARGET_FULL_RATIO}x: {verdict})")
    worst = max(edit_s, due_s)
    verdict = "met" if worst < TARGET_INCREMENTAL_S else "MISSED"
    print(f"incremental, worst = {worst:.2f} s  (target < {TARGET_INCREMENTAL_S} s: {verdict})")
    print(f"incremental / Pelican = {worst / pelican_s:.3f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
