"""The one place that knows about htmx: page-or-fragment rendering and its headers."""

from flask import make_response, render_template, request


def is_htmx() -> bool:
    """True for an htmx request that wants a fragment (history restores want the page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(page: str, fragment: str | None = None, /, status: int = 200, **context):
    """Render the full page, or only ``fragment`` when htmx asked for it.

    The page template includes the fragment, so the markup has one source; the
    answer varies on ``HX-Request`` so caches keep the two apart.
    """
    template = fragment if fragment and is_htmx() else page
    body = render_template(template, **context)
    if is_htmx() and template.rsplit("/", 1)[-1].startswith("_"):
        # Flash messages ride along out-of-band, so fragments never have to.
        body += render_template("shared/_flash_oob.html")
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def redirect(location: str, status: int = 303):
    """Redirect that also works for htmx requests (which ignore plain 3xx targets)."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    response = make_response("", status)
    response.headers["Location"] = location
    return response
