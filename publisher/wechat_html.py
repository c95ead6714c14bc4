"""The story body as HTML that WeChat's editor keeps.

WeChat keeps inline styles only, flattens lists past two levels, drops links
that are not WeChat articles and filters images not on its own servers. So the
tokens are dressed before markdown-it renders them: styles from publisher.theme,
images pointed at the URLs the caller uploads them to, and external links turned
into numbered references listed at the end. Everything is escaped by markdown-it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

from publisher import theme
from publisher.markdown import is_external, parser, walk
from publisher.story import Story

# Links WeChat leaves clickable: its own articles.
WECHAT_HOSTS = ("mp.weixin.qq.com",)
MAX_LIST_DEPTH = 2


def render_wechat(story: Story, image_url: Callable[[Path], str]) -> str:
    """The story's body as HTML that WeChat's editor keeps; image_url uploads a local image."""
    md = parser()
    for name, rule in _RULES.items():
        md.add_render_rule(name, rule)
    env: dict = {"refs": {}}
    tokens = md.parse(story.body, env)
    _dress_blocks(tokens)
    for token in tokens:
        if token.type == "inline" and token.children:
            _dress_inline(token.children, story.folder, image_url, env["refs"])
    body = md.renderer.render(tokens, md.options, env)
    return f'<section style="{theme.WRAPPER}">\n{body}{_references(env["refs"])}</section>'


def local_image(folder: Path, src: str) -> Path | None:
    """The file a body image's src names, or None when it is external or leaves the folder."""
    if not src or is_external(src):
        return None
    path = folder / unquote(urlsplit(src).path)
    return path if path.resolve().is_relative_to(folder.resolve()) else None


def _style(token: Token, css: str) -> None:
    # Table cells already carry text-align from the Markdown; keep it.
    existing = token.attrGet("style")
    token.attrSet("style", f"{existing};{css}" if existing else css)


def _dress_blocks(tokens: list[Token]) -> None:
    """Inline styles on every block, and lists past two levels flattened into lines."""
    open_tags: list[str] = []
    depth = 0
    flat_from: int | None = None  # the level of the outermost list being flattened
    for token in tokens:
        if token.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
            if depth > MAX_LIST_DEPTH:
                flat_from = token.level if flat_from is None else flat_from
                token.hidden = True
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
            if depth >= MAX_LIST_DEPTH:
                token.hidden = True
            if flat_from is not None and token.level == flat_from:
                flat_from = None
        elif flat_from is not None and token.type in ("list_item_open", "list_item_close"):
            token.tag = "section"
            token.meta["flat"] = True
            if token.nesting == 1:
                _style(token, theme.FLAT_ITEM)
        elif flat_from is not None and token.type in ("paragraph_open", "paragraph_close"):
            token.hidden = True  # a flattened item is one line, not a block in a block

        if token.nesting == 1 and not token.hidden and "flat" not in token.meta:
            parent = open_tags[-1] if open_tags else None
            if token.tag == "p" and parent in ("li", "blockquote"):
                _style(token, theme.NESTED_P)
            elif token.tag in ("ul", "ol") and parent == "li":
                _style(token, theme.NESTED_LIST)
            elif token.tag in theme.STYLES:
                _style(token, theme.STYLES[token.tag])
        elif token.nesting == 0 and token.tag == "hr":
            _style(token, theme.STYLES[token.tag])
        if token.nesting == 1:
            open_tags.append(token.tag)
        elif token.nesting == -1:
            open_tags.pop()


def _dress_inline(children: list[Token], folder: Path, image_url, refs: dict) -> None:
    """Number external links, point local images at their uploaded URL, style code."""
    links: list[Token] = []
    for i, token in enumerate(children):
        if token.type == "link_open":
            href = token.attrGet("href") or ""
            if urlsplit(href).hostname in WECHAT_HOSTS:
                token.meta["keep"] = True
                _style(token, theme.STYLES["a"])
            elif is_external(href) and token.markup != "autolink":
                # An autolink already shows its URL; anything else gets a number.
                token.meta["ref"] = _ref(refs, href, _text_until_close(children, i))
            links.append(token)
        elif token.type == "link_close":
            opened = links.pop()
            token.meta.update(opened.meta)
        elif token.type == "image":
            src = token.attrGet("src") or ""
            path = local_image(folder, src)
            if path is not None:
                token.attrSet("src", image_url(path))
                _style(token, theme.STYLES["img"])
            elif is_external(src):
                token.meta["ref"] = _ref(refs, src, _alt(token) or "图片")
            else:
                token.meta["dropped"] = True
        elif token.type == "code_inline":
            _style(token, theme.STYLES["code"])


def _ref(refs: dict, url: str, text: str) -> int:
    # The same URL cited twice keeps its first number.
    if url not in refs:
        refs[url] = (len(refs) + 1, text)
    return refs[url][0]


def _text_until_close(children: list[Token], start: int) -> str:
    parts, depth = [], 0
    for token in children[start:]:
        depth += token.nesting if token.type in ("link_open", "link_close") else 0
        if depth == 0:
            break
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type == "image":
            parts.append(_alt(token))
    return "".join(parts)


def _alt(token: Token) -> str:
    return "".join(t.content for t in walk(token.children or []) if t.type == "text")


def _references(refs: dict) -> str:
    if not refs:
        return ""
    lines = "".join(
        f'<p style="{theme.REF}">[{n}] {escapeHtml(text)}{"：" if text else ""}'
        f"{escapeHtml(url)}</p>\n"
        for url, (n, text) in refs.items()
    )
    title = f'<p style="{theme.REFS_TITLE}">参考链接</p>'
    return f'<section style="{theme.REFS}">\n{title}\n{lines}</section>\n'


def _mark(n: int) -> str:
    return f'<sup style="{theme.REF_MARK}">[{n}]</sup>'


def _link_open(self, tokens, idx, options, env):
    token = tokens[idx]
    return self.renderToken(tokens, idx, options, env) if token.meta.get("keep") else ""


def _link_close(self, tokens, idx, options, env):
    token = tokens[idx]
    if token.meta.get("keep"):
        return "</a>"
    return _mark(token.meta["ref"]) if "ref" in token.meta else ""


def _image(self, tokens, idx, options, env):
    token = tokens[idx]
    alt = escapeHtml(_alt(token))
    if "ref" in token.meta:
        return f"{alt}{_mark(token.meta['ref'])}"
    if token.meta.get("dropped"):
        return alt  # check refuses such a story; never upload a file from outside its folder
    return self.image(tokens, idx, options, env)


def _code(self, tokens, idx, options, env):
    # The default fence adds class="language-…", which WeChat strips anyway.
    code = escapeHtml(tokens[idx].content)
    return f'<pre style="{theme.STYLES["pre"]}"><code>{code}</code></pre>\n'


def _table_open(self, tokens, idx, options, env):
    frame = f'<section style="{theme.TABLE_FRAME}">\n'
    return frame + self.renderToken(tokens, idx, options, env)


def _table_close(self, tokens, idx, options, env):
    return self.renderToken(tokens, idx, options, env) + "</section>\n"


def _list_item_open(self, tokens, idx, options, env):
    token = tokens[idx]
    html = self.renderToken(tokens, idx, options, env)
    if not token.meta.get("flat"):
        return html
    # An ordered item keeps its number (info "3", markup "."), a bullet becomes a dash.
    return html + (f"{token.info}{token.markup} " if token.info else "– ")


def _softbreak(self, tokens, idx, options, env):
    # A line break inside a Chinese sentence must not become a space between characters.
    # Markup tokens (a link or emphasis opening) have no text; look past them.
    before = next((t.content[-1] for t in reversed(tokens[:idx]) if t.content), "")
    after = next((t.content[0] for t in tokens[idx + 1 :] if t.content), "")
    return "" if _wide(before) and _wide(after) else "\n"


def _wide(char: str) -> bool:
    return bool(char) and unicodedata.east_asian_width(char) in ("W", "F")


_RULES = {
    "link_open": _link_open,
    "link_close": _link_close,
    "image": _image,
    "fence": _code,
    "code_block": _code,
    "table_open": _table_open,
    "table_close": _table_close,
    "list_item_open": _list_item_open,
    "softbreak": _softbreak,
}
