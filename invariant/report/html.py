"""HTML building blocks of the report: one self-contained page with inline CSS, no script."""
from __future__ import annotations

from html import escape

CSS = """
:root { --ok: #1a7f37; --bad: #c62828; --warn: #b26a00; --muted: #667085; --line: #e4e7ec; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", Roboto, "DejaVu Sans", Helvetica, Arial, sans-serif;
       margin: 0; color: #1d2939; background: #f6f7f9; line-height: 1.45; font-size: 14px; }
main { max-width: 1180px; margin: 0 auto; padding: 18px 24px 60px; }
header.top { background: #fff; border-bottom: 1px solid var(--line); }
header.top .inner { max-width: 1180px; margin: 0 auto; padding: 16px 24px 12px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 14px 0 6px; }
.sub { color: var(--muted); font-size: 13px; }
.badges { display: flex; flex-wrap: wrap; gap: 10px; margin-top: 12px; }
.badge { border: 1px solid var(--line); border-left: 5px solid var(--muted); border-radius: 6px;
         padding: 7px 12px; background: #fff; min-width: 170px; }
.badge .k { font-size: 12px; font-weight: 600; color: var(--muted); }
.badge .v { font-size: 16px; font-weight: 600; }
.badge .r { font-size: 12px; color: var(--muted); max-width: 330px; }
.badge.ok { border-left-color: var(--ok); } .badge.ok .v { color: var(--ok); }
.badge.bad { border-left-color: var(--bad); } .badge.bad .v { color: var(--bad); }
.badge.warn { border-left-color: var(--warn); } .badge.warn .v { color: var(--warn); }
nav.toc { margin-top: 10px; font-size: 12.5px; display: flex; flex-wrap: wrap; gap: 2px 14px; }
nav.toc a { color: #175cd3; text-decoration: none; white-space: nowrap; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px 18px;
          margin: 16px 0; }
table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0 10px; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: right; vertical-align: top; }
th { background: #f9fafb; font-weight: 600; }
td, th { white-space: nowrap; }
td.l, th.l { text-align: left; }
td.note { white-space: normal; }
td.note { text-align: left; color: var(--muted); max-width: 520px; }
table.kv td:first-child { text-align: left; color: var(--muted); }
.cols { display: flex; flex-wrap: wrap; gap: 28px; align-items: flex-start; }
.yes { color: var(--ok); font-weight: 600; white-space: nowrap; } .no { color: var(--bad); font-weight: 600; white-space: nowrap; }
p.missing { color: var(--muted); font-style: italic; margin: 6px 0; }
p.warn { color: var(--warn); margin: 6px 0; }
figure { margin: 8px 0 4px; } figure img { width: 100%; height: auto; display: block; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 2px; }
footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 20px; }
code { font-size: 12px; background: #f2f4f7; padding: 0 3px; border-radius: 3px; }
"""


def esc(x) -> str:
    """HTML-escaped text."""
    return escape(str(x))


def table(header, rows, left=(0,), cls: str = "") -> str:
    """A table; ``rows`` hold already formatted cells (strings are escaped unless they
    come as ``Raw``); columns in ``left`` are left-aligned."""
    def cell(tag, i, v):
        c = ' class="l"' if i in left else ""
        if isinstance(v, Raw):
            return f"<{tag}{c}>{v}</{tag}>"
        if isinstance(v, Note):
            return f'<{tag} class="note">{esc(v)}</{tag}>'
        return f"<{tag}{c}>{esc(v)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(header)) if header else ""
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    cl = f' class="{cls}"' if cls else ""
    return f"<table{cl}>" + (f"<thead><tr>{head}</tr></thead>" if head else "") + f"<tbody>{body}</tbody></table>"


class Raw(str):
    """A table cell that is already HTML."""


class Note(str):
    """A left-aligned, muted text cell (explanations)."""


def yes_no(flag, yes: str = "holds", no: str = "fails") -> Raw:
    """✓ / ✗ / — for True / False / None."""
    if flag is None:
        return Raw("—")
    return Raw(f'<span class="yes">✓ {esc(yes)}</span>' if flag else f'<span class="no">✗ {esc(no)}</span>')


def missing(text: str) -> str:
    """The sentence a section shows when its analysis was not run, was skipped or failed."""
    return f'<p class="missing">{esc(text)}</p>'


def unavailable(sec, key: str, absent: str, what: str) -> str:
    """The sentence for an analysis section of summary.json that is absent (``absent``), or
    that was skipped or failed (``No <what>: why.``); ``""`` when it holds ``key``."""
    if not isinstance(sec, dict):
        return missing(absent)
    if key in sec:
        return ""
    why = sec.get("skipped") or (f"the analysis failed ({sec['error']})" if sec.get("error") else "no result")
    return missing(f"No {what}: {why}.")


def warn(text: str) -> str:
    return f'<p class="warn">{esc(text)}</p>'


def para(text: str) -> str:
    return f"<p>{esc(text)}</p>"


def figure(uri: str, caption: str = "", alt: str = "") -> str:
    """An embedded PNG (``data:`` URI) with a caption."""
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="{uri}" alt="{esc(alt or caption)}">{cap}</figure>'


def badge(key: str, value: str, reason: str = "", tone: str = "") -> str:
    """A verdict tile of the summary header (``tone``: "ok", "bad", "warn" or "")."""
    r = f'<div class="r">{esc(reason)}</div>' if reason else ""
    return f'<div class="badge {tone}"><div class="k">{esc(key)}</div><div class="v">{esc(value)}</div>{r}</div>'


def section(sid: str, title: str, body: str) -> str:
    return f'<section id="{esc(sid)}"><h2>{esc(title)}</h2>{body}</section>'


def page(title: str, subtitle: str, badges: str, sections: list, footer: str) -> str:
    """The whole document; ``sections`` is a list of ``(id, title, html)``."""
    toc = "".join(f'<a href="#{esc(s)}">{esc(t)}</a>' for s, t, _ in sections)
    body = "".join(section(s, t, h) for s, t, h in sections)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{esc(title)}</title>"
        f"<style>{CSS}</style></head><body>"
        f'<header class="top"><div class="inner"><h1>{esc(title)}</h1><div class="sub">{esc(subtitle)}</div>'
        f'<div class="badges">{badges}</div><nav class="toc">{toc}</nav></div></header>'
        f"<main>{body}<footer>{esc(footer)}</footer></main></body></html>\n"
    )
