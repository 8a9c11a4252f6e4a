"""The Jinja sandbox mail templates run in: immutable, strict about missing names, and
refusing operations that would build huge values (a template is run on every send).
Its refusals are marked for the catalogs: render errors quote them in the reader's language.
"""

import re
from functools import partial

from jinja2 import StrictUndefined, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from portal.i18n.marks import N_

MAX_REPEAT = 100_000  # longest string or list that ``*`` may build
MAX_POWER_BITS = 64_000  # largest integer ``**`` may build
# A padding width or precision of 100,000 or more in %-style or {}-style formats.
_BIG_PERCENT_WIDTH = re.compile(r"%(\([^()]*\))?[-+ #0]*(\d{6,}|\*|\d*\.\d{6,})")
_BRACE_FIELD = re.compile(r"\{[^{}]*\}")  # linear: no nested quantifiers
_SIX_DIGITS = re.compile(r"\d{6,}")
# str methods whose integer argument is the length of the string they build.
_WIDTH_METHODS = frozenset({"zfill", "ljust", "rjust", "center", "expandtabs"})


class MissingValue(UndefinedError):
    """Raised for an undefined name; remembers which name, for a readable message."""

    def __init__(self, message: str, name=None, top_level: bool = True):
        super().__init__(message)
        self.name = name
        self.top_level = top_level


class _Undefined(StrictUndefined):
    """StrictUndefined whose error knows the missing name (sandbox refusals stay as they are)."""

    __slots__ = ()

    def __init__(self, hint=None, obj=missing, name=None, exc=UndefinedError):
        if exc is UndefinedError:
            exc = partial(MissingValue, name=name, top_level=obj is missing)
        super().__init__(hint, obj, name, exc)


def _refuse_wide_format(spec) -> None:
    if not isinstance(spec, str):
        return
    wide_brace = any(_SIX_DIGITS.search(field.group().partition(":")[2])
                     for field in _BRACE_FIELD.finditer(spec))
    if wide_brace or _BIG_PERCENT_WIDTH.search(spec):
        raise SecurityError(N_("formatting to such a width"))


def _capped(filter_func, limit: int = MAX_REPEAT):
    """A padding filter (``center``, ``indent``) refusing widths that build huge strings;
    for ``indent`` the width counts once per line it pads."""

    def run(value, width=80, *args, **kwargs):
        lines = str(value).count("\n") + 1 if filter_func.__name__ == "do_indent" else 1
        if isinstance(width, int) and width * lines > limit:
            raise SecurityError(N_("padding to such a width"))
        return filter_func(value, width, *args, **kwargs)

    return run


class MailSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, also refusing values too big to build: ``*``, ``**``,
    ``%`` and ``format`` with huge widths, wide padding filters and long ``lipsum``."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options):
        super().__init__(**options)
        plain_lipsum = self.globals["lipsum"]

        def lipsum(n=5, html=True, min=20, max=100):  # noqa: A002 (Jinja's own names)
            if n > 20 or max > 200:
                raise SecurityError(N_("generating that much placeholder text"))
            return plain_lipsum(n, html, min, max)

        self.globals["lipsum"] = lipsum
        for name in ("center", "indent"):
            self.filters[name] = _capped(self.filters[name])
        plain_format = self.filters["format"]

        def checked_format(value, *args, **kwargs):
            _refuse_wide_format(value)
            return plain_format(value, *args, **kwargs)

        self.filters["format"] = checked_format

    def wrap_str_format(self, value):
        """``'…'.format(…)`` in a template: refuse huge widths before formatting."""
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _refuse_wide_format(getattr(value, "__self__", None))
        return wrapped

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's signature)
        """Calls from a template: refuse ``'a'.zfill(10**9)`` and its kind."""
        if (getattr(__obj, "__name__", None) in _WIDTH_METHODS
                and isinstance(getattr(__obj, "__self__", None), str)
                and any(isinstance(arg, int) and arg > MAX_REPEAT for arg in args)):
            raise SecurityError(N_("padding to such a width"))
        return super().call(__context, __obj, *args, **kwargs)

    def call_binop(self, context, operator, left, right):
        if operator == "%":
            _refuse_wide_format(left)
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if (isinstance(seq, str | list | tuple) and isinstance(count, int)
                        and len(seq) * count > MAX_REPEAT):
                    raise SecurityError(N_("repeating a value that many times"))
        if (operator == "**" and isinstance(left, int) and isinstance(right, int)
                and abs(left) > 1 and left.bit_length() * right > MAX_POWER_BITS):
            raise SecurityError(N_("raising to such a large power"))
        return super().call_binop(context, operator, left, right)


def environment(autoescape: bool) -> MailSandbox:
    return MailSandbox(undefined=_Undefined, autoescape=autoescape,
                        trim_blocks=True, lstrip_blocks=True)
