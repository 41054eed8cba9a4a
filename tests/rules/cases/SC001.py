# SC001 syntax-error: the source does not parse; the message and position are Python's own.
def broken(:  # error: SC001
    pass
# ---
total = (1 +  # error: SC001
# ---
x = 1
  y = 2  # error: SC001
# ---
for item in [1, 2]  # error: SC001
    print(item)
# ---
if x = 1:  # error: SC001
    pass
# ---
def ok(values):
    return [v * 2 for v in values if v]
print(ok([1, 0, 3]))
