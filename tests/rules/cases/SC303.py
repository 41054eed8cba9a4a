# SC303 star-import: name what you import.
from math import *  # error: SC303
# ---
from os import *  # error: SC301, SC303
# ---
from math import sqrt, pi
print(sqrt(pi))
