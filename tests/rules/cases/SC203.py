# SC203 star-except (retired): 'except*' is accepted; the ExceptionGroup.split
# hazard (CVE-2025-22153) is guarded at run time instead.
try:
    raise ExceptionGroup("many", [ValueError(1), TypeError(2)])
except* ValueError as group:
    print("values", len(group.exceptions))
except* TypeError:
    print("types")
# ---
def check(items):
    errors = [ValueError(item) for item in items if item < 0]
    if errors:
        raise ExceptionGroup("negative", errors)
try:
    check([1, -2, -3])
except* ValueError as group:
    print([str(e) for e in group.exceptions])
# ---
class Failures(ExceptionGroup):
    def derive(self, excs):
        return Failures(self.message, excs)
try:
    raise Failures("x", [KeyError("k")])
except* KeyError:
    print("caught")
