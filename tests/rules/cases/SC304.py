# SC304 import-name-not-allowed: names the module's view does not offer (advisory:
# the run-time import guard raises ImportError for them).
from string import Formatter  # error: SC304
# ---
from typing import get_type_hints  # error: SC304
# ---
from functools import singledispatch  # error: SC304
# ---
from json import codecs  # error: SC304
# ---
from typing import sys  # error: SC304
# ---
from math import _private  # error: SC304
# ---
from string import Template, ascii_letters, capwords, Formatter  # error: SC304
# ---
from string import Template, ascii_letters, capwords
from typing import Optional, Any
from functools import partial, reduce, lru_cache
from operator import attrgetter, methodcaller, itemgetter
from json import dumps, loads
print(Template("$x").substitute(x=1), capwords("a b"), attrgetter("real")(3))
