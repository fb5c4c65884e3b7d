"""Template helpers: safe Markdown, readable text on type colours, stacked underlines,
durations in words."""
import functools

from django import template
from django.utils.safestring import mark_safe
from markdown_it import MarkdownIt

register = template.Library()

# CommonMark with raw HTML disabled: any HTML in the source is escaped, and
# markdown-it's link validation drops javascript:/vbscript:/data: URLs.
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")

LAYER_STEP = 5  # px between stacked underline bands; each band is 3 px thick


@register.filter
def markdown(text: str) -> str:
    return mark_safe(_markdown.render(text or ""))


@register.filter
def duration(seconds) -> str:
    """Seconds as a person reads them: ``"40 s"``, ``"about 3 min"``, ``"about 1 h 20 min"``."""
    if seconds is None or seconds == "":
        return ""
    seconds = max(0.0, float(seconds))
    if seconds < 59.5:
        return f"{max(1, int(seconds + 0.5))} s"
    hours, minutes = divmod(int(seconds / 60 + 0.5), 60)
    if not hours:
        return f"about {minutes} min"
    return f"about {hours} h" + (f" {minutes} min" if minutes else "")


def _luminance(color: str) -> float:
    color = color.lstrip("#")
    if len(color) == 3:
        color = "".join(c * 2 for c in color)
    try:
        r, g, b = (int(color[i:i + 2], 16) / 255 for i in (0, 2, 4))
    except ValueError:
        return 0.5

    def channel(c):
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


@register.filter
@functools.lru_cache(maxsize=256)
def text_on(color: str) -> str:
    """Black or white, whichever reads better on ``color``."""
    return "#111" if _luminance(color) > 0.22 else "#fff"


@register.simple_tag
def underline_style(segment) -> str:
    """CSS for a text segment: one coloured 3 px band per covering entity, by layer.

    Box shadows are painted first-on-top, so alternating page-coloured and
    entity-coloured shadows give separate bands; a layer the segment is not part
    of is painted in the page colour, keeping every band at its own height.
    """
    if not segment.marks:
        return ""
    by_layer = {m.layer: m.entity.type.color for m in segment.marks}
    shadows = []
    for layer in range(max(by_layer) + 1):
        base = layer * LAYER_STEP
        shadows.append(f"0 {base + 1}px 0 0 var(--paper)")
        shadows.append(f"0 {base + 4}px 0 0 {by_layer.get(layer, 'var(--paper)')}")
    inner = segment.marks[0].entity.type.color
    return (f"box-shadow:{','.join(shadows)};"
            f"background:color-mix(in srgb,{inner} 16%,transparent)")
